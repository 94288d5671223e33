"""``webgpt demos``: generate scripted demonstrations, import outside data, export training sets.

    webgpt demos generate --corpus wiki --questions ../shared/data/qa/nq_open_dev.jsonl --limit 200
    webgpt demos import questions questions.jsonl
    webgpt demos import webgpt-comparisons comparisons.jsonl
    webgpt demos import truthfulqa ../shared/data/qa/TruthfulQA.csv
    webgpt demos export bc out/bc.jsonl --source human --source scripted
    webgpt demos export comparisons out/comparisons --format hf
    webgpt demos list

Every command takes ``--db PATH`` (default: the demonstrations store under ``$WEBGPT_HOME``).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from demonstrations.scripted.demonstrator import ScriptedConfig

SCRIPTED_DEFAULTS = ScriptedConfig()

if TYPE_CHECKING:
    from demonstrations.schemas import ComparisonRecord
    from demonstrations.store import EpisodeStore


class _StoreCommands(TyperGroup):
    """Every ``demos`` command: a store found damaged at any point is reported in one sentence."""

    def invoke(self, ctx: typer.Context) -> object:
        from demonstrations.store import StoreError

        try:
            return super().invoke(ctx)
        except StoreError as error:
            raise _fail(str(error)) from None


app = typer.Typer(no_args_is_help=True, cls=_StoreCommands)
import_app = typer.Typer(no_args_is_help=True)
app.add_typer(import_app, name="import", help="Import questions, WebGPT comparisons or TruthfulQA pairs.")

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Demonstrations database (default: $WEBGPT_HOME/demonstrations.sqlite)."),
]


class ExportKind(StrEnum):
    bc = "bc"
    comparisons = "comparisons"


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    hf = "hf"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _check_split(split: str) -> None:
    if split not in ("train", "test", "all"):
        raise _fail("--split must be train, test or all")


def _check_writable(path: Path, option: str) -> None:
    """Fail before any work when ``path`` could not be created: a file or an unwritable folder in the way."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise _fail(f"cannot write {path}: {folder} is a file, not a folder; give {option} another path")
    if not os.access(folder, os.W_OK):
        raise _fail(
            f"cannot write {path}: no permission to create files in {folder}; give {option} another path"
        )


def _open_store(db: Path | None) -> EpisodeStore:
    from demonstrations.store import EpisodeStore, StoreError

    try:
        return EpisodeStore(db)
    except StoreError as error:
        raise _fail(str(error)) from None


# ------------------------------------------------------------------------------------------------ generate


@app.command()
def generate(
    questions: Annotated[
        Path, typer.Option("--questions", "-q", help="Question file (JSONL, JSON, CSV or text).")
    ],
    corpus: Annotated[
        str, typer.Option("--corpus", "-c", help="Corpus to browse (see `webgpt corpus list`).")
    ] = ("default"),
    limit: Annotated[
        int | None, typer.Option(help="Use only the first N questions that have gold answers.")
    ] = None,
    offset: Annotated[int, typer.Option(help="Skip the first N questions that have gold answers.")] = 0,
    split: Annotated[
        str,
        typer.Option(help="Part of the fixed question split: train, test or all (training data: train)."),
    ] = "all",
    detours: Annotated[float, typer.Option(help="Probability of each detour per episode (0 to 1).")] = 0.2,
    seed: Annotated[
        int, typer.Option(help="Seed for the detours (each question's seed derives from it).")
    ] = 0,
    max_searches: Annotated[
        int, typer.Option(help="Searches before giving up on a question.")
    ] = SCRIPTED_DEFAULTS.max_searches,
    max_pages: Annotated[int, typer.Option(help="Results opened per search.")] = SCRIPTED_DEFAULTS.max_pages,
    min_similarity: Annotated[
        float,
        typer.Option(
            help="How close in meaning (MiniLM cosine, -1 to 1) a quoted passage must be to the question; "
            "-1 turns the check off: more questions supported, fewer of them truly."
        ),
    ] = SCRIPTED_DEFAULTS.min_similarity or -1.0,
    episodes_per_question: Annotated[
        int,
        typer.Option(
            help="Supported questions are demonstrated again, avoiding pages already quoted, up to this "
            "many episodes each (other queries and pages: more varied training data)."
        ),
    ] = 1,
    db: DbOption = None,
    report: Annotated[Path | None, typer.Option(help="Also write the summary as JSON to this file.")] = None,
) -> None:
    """Run the scripted demonstrator over questions with gold answers and store every episode.

    Questions it finds support for end with a quote and a cited answer; the others end declined
    (End: Nonsense, metadata supported=false). Every quote is checked again against its page.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from demonstrations.generate import generate_demonstrations
    from demonstrations.imports import ImportFormatError, load_questions
    from demonstrations.scripted import ScriptedConfig

    if not 0.0 <= detours <= 1.0:
        raise _fail("--detours must be between 0 and 1")
    if offset < 0 or (limit is not None and limit < 1):
        raise _fail("--offset must be 0 or more and --limit 1 or more")
    if max_searches < 1 or max_pages < 1:
        raise _fail("--max-searches and --max-pages must be 1 or more")
    if not -1.0 <= min_similarity <= 1.0:
        raise _fail("--min-similarity must be between -1 and 1")
    if episodes_per_question < 1:
        raise _fail("--episodes-per-question must be 1 or more")
    if report is not None:
        _check_writable(report, "--report")
    try:
        records = load_questions(questions)
    except ImportFormatError as error:
        raise _fail(str(error)) from None
    _check_split(split)
    from demonstrations.splits import select

    in_split = select(records, split)  # type: ignore[arg-type]
    answerable = [q for q in in_split if q.gold_answers]
    selected = answerable[offset:][:limit] if limit is not None else answerable[offset:]
    if not selected:
        raise _fail(f"{questions}: no questions with gold answers to demonstrate ({len(records)} read)")
    opened = _open_corpus(corpus)
    store = _open_store(db)
    config = ScriptedConfig(
        detour_rate=detours,
        max_searches=max_searches,
        max_pages=max_pages,
        min_similarity=None if min_similarity <= -1.0 else min_similarity,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=True, disable=not sys.stderr.isatty()) as progress:
            task = progress.add_task("demonstrating", total=len(selected))

            def advance(episode: Any, tally: Any) -> None:
                description = f"supported {tally.supported} · declined {tally.declined}"
                first = not episode.metadata.get("attempt")  # the bar counts questions
                progress.update(task, advance=int(first), description=description)

            result = generate_demonstrations(
                selected,
                opened,
                store,
                config,
                seed=seed,
                episodes_per_question=episodes_per_question,
                on_episode=advance,
            )
    finally:
        store.close()
        opened.close()
    if result.interrupted:
        typer.echo("interrupted: the episodes finished so far are stored", err=True)
    summary = {
        "corpus": corpus,
        "questions_file": str(questions),
        "questions_read": len(records),
        "questions_without_gold_answers": len(in_split) - len(answerable),
        "questions_outside_split": len(records) - len(in_split),
        **result.to_dict(),
        "db": str(store.path),
        "settings": {
            "detours": detours,
            "seed": seed,
            "max_searches": max_searches,
            "max_pages": max_pages,
            "min_similarity": min_similarity,
            "episodes_per_question": episodes_per_question,
            "offset": offset,
            "limit": limit,
            "split": split,
        },
    }
    _print_generate_summary(summary)
    if report is not None:
        try:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise _fail(
                f"could not write the report to {report}: {error.strerror or error}; the episodes are stored "
                "and the summary is printed above"
            ) from None
    if result.failed_quotes:
        raise _fail(
            "quotes that did not verify against their pages:\n  " + "\n  ".join(result.failed_quotes), code=2
        )


def _open_corpus(corpus: str) -> Any:
    from browser_env.corpus import CorpusError, open_corpus

    try:
        return open_corpus(corpus)
    except CorpusError as error:
        raise _fail(str(error)) from None


def _print_generate_summary(summary: dict[str, Any]) -> None:
    episodes = summary["episodes"] or 1
    typer.echo(
        f"{summary['episodes']} episodes on corpus {summary['corpus']!r} in {summary['seconds']} s "
        f"({summary['episodes_per_second']} episodes/s, {summary['steps']} steps)"
    )
    typer.echo(f"  supported: {summary['supported']} ({100 * summary['supported'] / episodes:.1f}%)")
    if summary["alternatives"]:
        typer.echo(f"    of them further episodes of a supported question: {summary['alternatives']}")
    typer.echo(f"  declined:  {summary['declined']} ({100 * summary['declined'] / episodes:.1f}%)")
    typer.echo(f"  end reasons: {summary['end_reasons']}")
    typer.echo(f"  quotes verified against their pages: {summary['quotes_verified']} of {summary['quotes']}")
    typer.echo(f"  detours taken: {summary['detours'] or 'none'}")
    if summary["questions_without_gold_answers"]:
        typer.echo(f"  skipped (no gold answers): {summary['questions_without_gold_answers']}")
    if summary["questions_outside_split"]:
        typer.echo(f"  not in the {summary['settings']['split']} split: {summary['questions_outside_split']}")
    typer.echo(f"  stored in {summary['db']}")


# ------------------------------------------------------------------------------------------------ export


@app.command()
def export(
    kind: Annotated[ExportKind, typer.Argument(help="bc (behaviour cloning) or comparisons (reward model).")],
    out: Annotated[Path, typer.Argument(help="Output: a .jsonl file, or a folder with --format hf.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl, or hf (a datasets folder).")] = (
        ExportFormat.jsonl
    ),
    source: Annotated[
        list[str] | None,
        typer.Option(
            help="Keep only this source (repeatable): human, scripted, model; webgpt, truthfulqa..."
        ),
    ] = None,
    include_invalid: Annotated[bool, typer.Option(help="bc: keep steps whose command failed.")] = False,
    answers: Annotated[bool, typer.Option(help="bc: add the answer-writing rows.")] = True,
    declined: Annotated[bool, typer.Option(help="bc: keep episodes that ended declined.")] = True,
    ties: Annotated[bool, typer.Option(help="comparisons: keep ties (label 0.5).")] = True,
    much_better_margin: Annotated[float, typer.Option(help="comparisons: margin for 'much better'.")] = 1.0,
    split: Annotated[
        str,
        typer.Option(
            help="Only questions of this part of the fixed split: train (training data never holds a "
            "test question), test or all."
        ),
    ] = "train",
    force: Annotated[bool, typer.Option(help="Overwrite OUT if it exists.")] = False,
    db: DbOption = None,
) -> None:
    """Write training data in TRL's column names (see demonstrations/exports.py for the layout)."""
    from demonstrations.exports import bc_rows, comparison_rows, write_rows
    from demonstrations.splits import in_split

    _check_split(split)
    _check_writable(out, "OUT")
    store = _open_store(db)
    sources = set(source) if source else None
    left_out = 0

    def of_split(records: Iterable[Any]) -> Iterator[Any]:
        nonlocal left_out
        for record in records:
            if in_split(record, split):  # type: ignore[arg-type]
                yield record
            else:
                left_out += 1

    try:
        if kind is ExportKind.bc:
            rows = bc_rows(
                of_split(store.iter_episodes()),
                sources=sources,
                include_invalid=include_invalid,
                include_answers=answers,
                include_declined=declined,
            )
        else:
            rows = comparison_rows(
                of_split(store.iter_comparisons()),
                sources=sources,
                include_ties=ties,
                much_better_margin=much_better_margin,
            )
        count = write_rows(rows, out, kind=kind.value, fmt=fmt.value, overwrite=force)
    except FileExistsError as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"could not write {out}: {error.strerror or error}; give OUT another path") from None
    finally:
        store.close()
    typer.echo(f"wrote {count} {kind.value} rows to {out} ({fmt.value})")
    if left_out:
        what = "episodes" if kind is ExportKind.bc else "comparisons"
        typer.echo(
            f"left out {left_out} {what} of questions outside the {split} split (--split all keeps them)"
        )


# ------------------------------------------------------------------------------------------------ import


@import_app.command("questions")
def import_questions(
    file: Annotated[Path, typer.Argument(help="JSONL/JSON ({question, answer|answers}), CSV, or text.")],
    source: Annotated[str | None, typer.Option(help="Source label (default: the file name).")] = None,
    db: DbOption = None,
) -> None:
    """Queue questions for the recorder (questions already queued are skipped and counted)."""
    from demonstrations.imports import ImportFormatError, load_questions

    try:
        records = load_questions(file, source=source)
    except ImportFormatError as error:
        raise _fail(str(error)) from None
    store = _open_store(db)
    try:
        added = store.add_questions(records)
    finally:
        store.close()
    with_gold = sum(1 for q in records if q.gold_answers)
    typer.echo(
        f"read {len(records)} questions ({with_gold} with gold answers): {added} queued, "
        f"{len(records) - added} already queued"
    )


@import_app.command("webgpt-comparisons")
def import_webgpt(
    file: Annotated[Path, typer.Argument(help="openai/webgpt_comparisons rows as JSONL (or a JSON list).")],
    much_better_gap: Annotated[
        float, typer.Option(help="|score_0 - score_1| at or above which a preference is 'much better'.")
    ] = 1.5,
    db: DbOption = None,
) -> None:
    """Import WebGPT comparisons (higher score wins; equal scores are ties)."""
    from demonstrations.imports import ImportFormatError, read_webgpt_comparisons

    try:
        records = read_webgpt_comparisons(file, much_better_gap=much_better_gap)
    except ImportFormatError as error:
        raise _fail(str(error)) from None
    _store_comparisons(records, db, file)


@import_app.command("truthfulqa")
def import_truthfulqa(
    file: Annotated[Path, typer.Argument(help="TruthfulQA.csv (Question, Best/Correct/Incorrect Answers).")],
    db: DbOption = None,
) -> None:
    """Import TruthfulQA as comparisons: each correct answer against each incorrect one."""
    from demonstrations.imports import ImportFormatError, read_truthfulqa_pairs

    try:
        records = read_truthfulqa_pairs(file)
    except ImportFormatError as error:
        raise _fail(str(error)) from None
    _store_comparisons(records, db, file)


def _store_comparisons(records: list[ComparisonRecord], db: Path | None, file: Path) -> None:
    store = _open_store(db)
    added = duplicates = 0
    try:
        for record in records:
            try:
                store.add_comparison(record)
                added += 1
            except ValueError:  # the same comparison was imported before
                duplicates += 1
    finally:
        store.close()
    prefs = Counter(r.preference for r in records)
    typer.echo(
        f"read {len(records)} comparisons from {file} (A {prefs['A']}, B {prefs['B']}, ties {prefs['tie']}): "
        f"{added} added, {duplicates} already stored"
    )


# ------------------------------------------------------------------------------------------------ list


@app.command("list")
def list_counts(db: DbOption = None) -> None:
    """Counts of questions, episodes (by source and ending) and comparisons (by source)."""
    store = _open_store(db)
    try:
        progress = store.progress()
        comparison_sources = Counter(c.source for c in store.iter_comparisons())
    finally:
        store.close()
    typer.echo(f"store: {store.path}")
    typer.echo(f"questions queued: {progress['questions']['total']}")
    typer.echo(f"episodes: {progress['episodes']['total']}")
    for name, counts in sorted(progress["by_source"].items()):
        typer.echo(
            f"  {name}: {counts['episodes']} ({counts['answered']} answered, {counts['declined']} declined, "
            f"{counts['abandoned']} abandoned, {counts['episodes'] - counts['finished']} unfinished)"
        )
    typer.echo(f"comparisons: {progress['comparisons']}")
    for name, count in sorted(comparison_sources.items()):
        typer.echo(f"  {name}: {count}")
