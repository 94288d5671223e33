"""``webgpt ask "QUESTION"``: browse, answer with citations, show the references.

    webgpt ask "Who designed the Eiffel Tower?"
    webgpt ask "..." --corpus wiki --best-of 4 --reward-model runs/rm --json --trace out.jsonl

Progress (each command as it is taken) goes to stderr; the answer, or with ``--json`` one JSON object,
goes to stdout (its ``timings`` hold the episode's and, under ``startup``, what came before it).
``--trace FILE`` writes every candidate episode in the demonstrations schema: JSON lines, or straight
into an episode store when FILE ends in ``.sqlite`` (then ``webgpt record`` shows them).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.config import MAX_CANDIDATES, RANKER_HELP, SAMPLING_DEFAULTS, SCRIPTED_POLICY
from agent.models import DEFAULT_MODEL_ID, SHIPPED_POLICY_ID, SHIPPED_REWARD_ID
from browser_env.config import EnvConfig
from webgpt_cli.step_lines import StepLine, StepLines, clip

ENV_DEFAULTS = EnvConfig()


def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    corpus: Annotated[
        str, typer.Option(help="Offline corpus to browse (default: the embedded one, built on first use).")
    ] = "default",
    web: Annotated[
        str | None, typer.Option(help="'live' to browse the live web instead of a corpus.")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Live search API (with --web live).")] = None,
    policy: Annotated[
        str,
        typer.Option(
            help=f"Policy: the shipped trained one ({SHIPPED_POLICY_ID}), the untrained base "
            f"({DEFAULT_MODEL_ID}), a checkpoint folder, a hub id, or 'scripted' (no model)."
        ),
    ] = SHIPPED_POLICY_ID,
    mode: Annotated[
        str | None,
        typer.Option(
            help="free | guided | scheduled (default: the checkpoint's own: guided for the shipped "
            "policy, scheduled for the untrained base, else free). guided: the model chooses each move "
            "once a page is read; scheduled: a fixed plan (three results read, the ranker's best sentence "
            "quoted), about four times faster; free: the model writes every command."
        ),
    ] = None,
    reward_model: Annotated[
        str | None,
        typer.Option(
            "--reward-model",
            help=f"Reward model for --best-of: a folder (default: the shipped {SHIPPED_REWARD_ID}).",
        ),
    ] = None,
    ranker: Annotated[
        Path | None,
        typer.Option(help=RANKER_HELP),
    ] = None,
    best_of: Annotated[
        int,
        typer.Option(
            "--best-of",
            min=1,
            max=MAX_CANDIDATES,
            help=f"Episodes to sample; the best answer wins (candidates in all: at most {MAX_CANDIDATES}).",
        ),
    ] = 1,
    answers_per_episode: Annotated[
        int,
        typer.Option("--answers-per-episode", min=1, max=MAX_CANDIDATES, help="Answers sampled per episode."),
    ] = 1,
    max_actions: Annotated[
        int, typer.Option("--max-actions", min=1, help="Action budget per episode.")
    ] = ENV_DEFAULTS.max_actions,
    max_quotes: Annotated[
        int, typer.Option("--max-quotes", min=1, help="Quote budget per episode.")
    ] = ENV_DEFAULTS.max_quotes,
    temperature: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help=f"Sampling temperature (0: greedy). Default {SAMPLING_DEFAULTS.temperature} for answers and "
            "free or guided browsing; scheduled browsing then takes the best-scoring choices, so its "
            "--best-of samples answers to one browse.",
        ),
    ] = None,
    top_p: Annotated[
        float, typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus sampling mass.")
    ] = SAMPLING_DEFAULTS.top_p,
    seed: Annotated[int | None, typer.Option(help="Random seed, for reproducible runs.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when present).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    trace: Annotated[
        Path | None,
        typer.Option(help="Write all candidate episodes here (.jsonl, or .sqlite episode store)."),
    ] = None,
) -> None:
    """Answer a question by browsing, citing verbatim quotes from the pages read."""
    startup: dict[str, float | None] = {"process_start": _seconds_since_process_start()}
    from rich.console import Console

    console = Console(stderr=True, soft_wrap=True)
    if web is not None:
        if web != "live":
            raise typer.BadParameter("the only value is 'live'", param_hint="--web")
        console.print(
            "[red]Browsing the live web is not available in this version; browse an offline corpus "
            "with --corpus (see `webgpt corpus list`).[/red]"
        )
        raise typer.Exit(2)
    if search is not None:
        raise typer.BadParameter("--search only goes with --web live", param_hint="--search")
    try:
        question = ENV_DEFAULTS.check_question(question)
    except ValueError as error:
        raise _refuse(str(error)) from None
    _check_corpus_name(corpus)
    if best_of * answers_per_episode > MAX_CANDIDATES:
        raise _refuse(
            f"--best-of {best_of} × --answers-per-episode {answers_per_episode} makes "
            f"{best_of * answers_per_episode} candidates; the limit is {MAX_CANDIDATES}"
        )
    if best_of * answers_per_episode > 1 and reward_model is None:
        reward_model = SHIPPED_REWARD_ID
    if mode is not None and mode not in ("free", "guided", "scheduled"):
        raise typer.BadParameter("use free, guided or scheduled", param_hint="--mode")
    if trace is not None:
        _check_writable(trace)
    if device is not None:
        _check_device(device)
    for name in (policy, reward_model):
        _check_model(console, name)

    result = _run(
        console,
        question=question,
        corpus=corpus,
        policy=policy,
        mode=mode,
        reward_model=reward_model,
        ranker=ranker,
        best_of=best_of,
        answers_per_episode=answers_per_episode,
        max_actions=max_actions,
        max_quotes=max_quotes,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        device=device,
        quiet=as_json,
        startup=startup,
    )
    from agent.answer import answer_json

    best = result.best
    trace_error = None
    if trace is not None:
        from demonstrations.exports import write_episodes

        try:
            write_episodes([candidate.record for candidate in result.candidates], trace)
        except Exception as error:  # the answer is printed all the same
            trace_error = f"could not write the trace to {trace}: {error}"
    if as_json:
        timings = {**result.timings.to_dict(), "startup": startup}
        payload = answer_json(best.answer, best.actions, len(result.candidates), timings)
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        _show(best.answer, len(result.candidates), result.timings, None if trace_error else trace)
    if trace_error:
        raise _refuse(f"{trace_error.rstrip('.')}; the answer above was not saved", code=1)


def _check_model(console: Any, name: str | None) -> None:
    """Fail on a missing model folder before anything slow starts (known ids are converted later)."""
    from agent.models import MODELS, ModelNotFound, resolve_checkpoint

    if name is None or name == SCRIPTED_POLICY or name in MODELS:
        return
    try:
        resolve_checkpoint(name)
    except ModelNotFound as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error


def _refuse(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _check_corpus_name(name: str) -> None:
    from browser_env.corpus import CorpusError, corpus_path

    try:
        corpus_path(name)
    except CorpusError as error:
        raise _refuse(f"{error}; see `webgpt corpus list`") from None


def _check_writable(path: Path) -> None:
    """Refuse a --trace target that cannot be written before anything slow starts."""
    target = path.expanduser().resolve()
    parent = target.parent
    if target.is_dir():
        raise _refuse(f"--trace {path} is a folder; give a file name such as {path / 'trace.jsonl'}")
    if not parent.is_dir():
        raise _refuse(f"--trace {path}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise _refuse(f"--trace {path} cannot be written (no permission); choose another path")
    if target.suffix == ".sqlite" and target.exists():
        from demonstrations.store import EpisodeStore, StoreError

        try:
            EpisodeStore(target).close()
        except StoreError as error:
            raise _refuse(f"--trace {path}: {error}") from None


def _check_device(device: str) -> None:
    if not re.fullmatch(r"cpu|cuda(:[0-9]+)?|mps", device):
        raise _refuse(f"unknown device {device!r}: use cpu or cuda (cuda:N for one of several GPUs)")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise _refuse("--device cuda, but this machine has no usable CUDA GPU; use --device cpu")


def _run(console: Any, *, question: str, corpus: str, policy: str, mode: str | None, **options: Any) -> Any:
    from agent.models import ModelNotFound

    quiet = options.pop("quiet")
    startup = options.pop("startup")
    candidates = options["best_of"] * options["answers_per_episode"]
    with console.status("Opening the corpus…", spinner="dots") as status:
        started = time.perf_counter()
        source = _open_corpus(corpus)  # may build the default corpus: garbage collection stays on
        startup["corpus_open"] = _since(started)
        status.update("Loading the model…")
        started = time.perf_counter()
        try:
            _convert_first(policy)
            _convert_first(options["reward_model"])
            with _loading():
                agent = _agent(policy, mode, options)
                reward = _reward(options.pop("reward_model"), options["device"])
        except (ModelNotFound, ValueError) as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
        startup["model_load"] = _since(started)
        from agent.best_of_n import best_of_n, episodes_to_run
        from browser_env.env import EnvConfig

        steps = StepLines(labelled=options["best_of"] > 1)

        def show(lines: list[StepLine]) -> None:
            for line in [] if quiet else lines:
                console.print(line.text, highlight=False, markup=False, style="red" if line.failed else None)

        def on_step(event: Any) -> None:
            show(steps.add(event))
            status.update(
                f"Browsing… {event.title[:60]} · quotes {event.quotes} · actions left {event.actions_left}"
            )

        def on_episode(result: Any) -> None:
            if options["best_of"] > 1:
                episodes = episodes_to_run(agent.policy, options["best_of"])
                console.print(
                    f"Episode {len(done) + 1} of {episodes} done "
                    f"({len(result.answers)} answer(s), {len(result.actions)} actions)",
                    highlight=False,
                )
            done.append(result)
            if len(done) == options["best_of"] and candidates > 1:
                status.update(f"Scoring {candidates} answers with the reward model…")

        def on_browsed(index: int) -> None:
            episodes = episodes_to_run(agent.policy, options["best_of"])
            if index + 1 == episodes:
                writing = f"{candidates} answers in one batch" if candidates > 1 else "the answer"
                status.update(f"Writing {writing}…")

        def on_scored(scored: int, total: int) -> None:
            console.print(f"Scored {scored} of {total} answers", highlight=False)

        done: list[Any] = []
        status.update("Browsing…")
        config = EnvConfig(max_actions=options["max_actions"], max_quotes=options["max_quotes"])
        try:
            started = time.perf_counter()
            search, fetcher = source.search, source.fetcher
            startup["index_load"] = _since(started)
            try:
                outcome = best_of_n(
                    question,
                    agent.policy,
                    search,
                    fetcher,
                    n=options["best_of"],
                    answers_per_episode=options["answers_per_episode"],
                    reward_model=reward,
                    answerer=agent.answerer,
                    config=config,
                    corpus=source.name,
                    on_step=on_step,
                    on_episode=on_episode,
                    on_browsed=on_browsed,
                    on_scored=on_scored if candidates > 1 else None,
                )
            finally:  # the last run of scrolls, also when the episode fails after it
                show(steps.flush())
            return outcome
        except ValueError as error:
            raise _refuse(str(error), code=1) from None
        except sqlite3.DatabaseError as error:
            raise _refuse(str(source.damaged(f"{type(error).__name__}: {error}")), code=1) from None


@contextlib.contextmanager
def _loading() -> Iterator[None]:
    """Loading makes some 400k long-lived objects (torch, transformers, the model); collecting garbage
    meanwhile only rescans them, again and again. Collect nothing while loading, then leave those objects
    out of every later collection, the one at exit included."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _convert_first(name: str | None) -> None:
    """A known model id (or the base of shipped weights) converted on first use: done before
    ``_loading``, with garbage collection on."""
    from agent.models import MODELS, prepare_checkpoint

    if name in MODELS:
        prepare_checkpoint(name)


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 4)


def _seconds_since_process_start() -> float | None:
    """Wall time since this process started (interpreter start and imports), where Linux tells it."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time after boot
        return round(time.clock_gettime(time.CLOCK_BOOTTIME) - started, 4)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _open_corpus(name: str) -> Any:
    from browser_env.corpus import CorpusError, ensure_default_corpus, open_corpus

    try:
        return ensure_default_corpus() if name == "default" else open_corpus(name)
    except CorpusError as error:
        raise _refuse(str(error)) from None


def _agent(policy: str, mode: str | None, options: dict[str, Any]) -> Any:
    from agent.policies import load_named_agent

    return load_named_agent(
        policy,
        mode=mode,
        temperature=options["temperature"],
        top_p=options["top_p"],
        seed=options["seed"],
        device=options["device"],
        ranker=options["ranker"],
    )


def _reward(path: str | None, device: str | None) -> Any:
    if path is None:
        return None
    from agent.reward import load_reward_model

    return load_reward_model(path, device=device)


def _show(answer: Any, candidates: int, timings: Any, trace: Path | None) -> None:
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False, soft_wrap=True)
    out.print()
    if answer.declined:
        out.print(f"[bold yellow]{escape(answer.text)}[/bold yellow]")
    else:
        out.print(f"[bold]{escape(answer.text)}[/bold]")
    if answer.references:
        out.print()
        out.print("[bold]References[/bold]")
        for reference in answer.references:
            state = "" if reference.verified is not False else "  [red](no longer on its page)[/red]"
            out.print(f"[{reference.n}] {escape(reference.title)} — {escape(reference.url)}{state}")
            out.print(f"    “{escape(clip(reference.quote, 300))}”", style="dim")
    for problem in answer.problems:
        out.print(f"[red]Unsupported: {escape(problem)}[/red]")
    details = [f"{timings.total:.1f} s"]
    if candidates > 1:
        details.append(
            f"best of {candidates}, reward {answer.reward:.3f}" if answer.reward is not None else ""
        )
    if trace is not None:
        details.append(f"trace: {trace}")
    print(" · ".join(d for d in details if d), file=sys.stderr)
