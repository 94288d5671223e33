"""Training data out of the store, in TRL's column names, as JSONL or Hugging Face ``datasets`` folders.

Behaviour cloning (``bc_rows``): one row per browsing step, ``prompt`` = the observation the
demonstrator saw, ``completion`` = the command they typed; and one answer-writing row per answered
episode, ``prompt`` = ``demonstrations.formats.answer_prompt(question, quotes)``, ``completion`` = the answer.
Extra columns: ``kind`` (``browse``/``answer``), ``episode_id``, ``step`` (None on answer rows),
``source``, ``valid``.

Comparisons (``comparison_rows``): the reward model reads question + *that answer's own* quotes +
answer, so the quotes go with each answer, not into a shared prompt:
``prompt`` = ``"♦Question\\n<question>\\n"``, ``chosen``/``rejected`` = ``"♦Quotes\\n<its quotes>\\n♦Answer\\n
<its answer>"``, so that ``prompt + chosen == demonstrations.formats.reward_input(question, quotes, answer)``
(TRL's RewardTrainer concatenates prompt and chosen exactly so). Extra columns: ``label`` (the
probability that ``chosen`` is better: 1.0, or 0.5 for a tie), ``tie``, ``strength``
(``better``/``much_better``/``tie``), ``margin`` (``much_better_margin`` for "much better", else 0.0;
TRL adds it inside its loss), ``id``, ``question``, ``source``, ``annotator``. A tie keeps answer A as
``chosen``: train on ties with a soft-label loss on ``label``, or drop them (``include_ties=False``)
for TRL's stock loss, which would read a tie as a preference.

    webgpt demos export bc out/bc.jsonl
    webgpt demos export comparisons out/comparisons --format hf
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from demonstrations.formats import answer_prompt, question_prompt, reward_input
from demonstrations.schemas import ComparedAnswer, ComparisonRecord, EpisodeRecord

Format = Literal["jsonl", "hf"]
BC_COLUMNS = ("prompt", "completion", "kind", "episode_id", "step", "source", "valid")
COMPARISON_COLUMNS = (
    "prompt",
    "chosen",
    "rejected",
    "label",
    "tie",
    "strength",
    "margin",
    "id",
    "question",
    "source",
    "annotator",
)
DECLINED = ("nonsense", "controversial")
UNFINISHED = (None, "abandoned")
ANSWERED = ("answer", "action_budget", "quote_budget")  # a rollout answers after a budget runs out too
EXPORT_MARKER = "webgpt_export.json"
_EXPORT_FILES = re.compile(
    r"data-\d+-of-\d+\.arrow|dataset_info\.json|state\.json|" + re.escape(EXPORT_MARKER)
)


def bc_rows(
    episodes: Iterable[EpisodeRecord],
    *,
    sources: Collection[str] | None = None,
    include_invalid: bool = False,
    include_answers: bool = True,
    include_declined: bool = True,
    include_unfinished: bool = False,
) -> Iterator[dict[str, Any]]:
    """Behaviour-cloning rows (see the module docstring), episode by episode, step by step.

    Steps whose command failed (``valid`` false) are left out unless ``include_invalid``; episodes that
    ended declined (``End: Nonsense|Controversial``) are kept unless ``include_declined`` is false;
    unfinished or abandoned episodes are left out unless ``include_unfinished``. An episode whose
    browsing ran out of a budget but that was answered from its quotes (a rollout) gets its answer row.
    """
    for episode in episodes:
        if sources is not None and episode.source not in sources:
            continue
        if episode.end_reason in UNFINISHED and not include_unfinished:
            continue
        if episode.end_reason in DECLINED and not include_declined:
            continue
        for step in episode.steps:
            if step.valid or include_invalid:
                yield {
                    "prompt": step.observation,
                    "completion": step.command,
                    "kind": "browse",
                    "episode_id": episode.id,
                    "step": step.index,
                    "source": episode.source,
                    "valid": step.valid,
                }
        if include_answers and episode.end_reason in ANSWERED and episode.answer and episode.quotes:
            yield {
                "prompt": answer_prompt(episode.question, episode.quotes),
                "completion": episode.answer.text,
                "kind": "answer",
                "episode_id": episode.id,
                "step": None,
                "source": episode.source,
                "valid": True,
            }


def answer_side(question: str, answer: ComparedAnswer) -> str:
    """One answer as the reward model reads it after the shared prompt: its quotes, then its text."""
    return reward_input(question, answer.quotes, answer.text)[len(question_prompt(question)) :]


def comparison_rows(
    comparisons: Iterable[ComparisonRecord],
    *,
    sources: Collection[str] | None = None,
    include_ties: bool = True,
    much_better_margin: float = 1.0,
) -> Iterator[dict[str, Any]]:
    """Reward-model rows in TRL's ``prompt``/``chosen``/``rejected`` layout (see the module docstring)."""
    for comparison in comparisons:
        if sources is not None and comparison.source not in sources:
            continue
        tie = comparison.preference == "tie"
        if tie and not include_ties:
            continue
        chosen, rejected = (
            (comparison.answer_b, comparison.answer_a)
            if comparison.preference == "B"
            else (comparison.answer_a, comparison.answer_b)
        )
        strength = "tie" if tie else (comparison.strength or "better")
        yield {
            "prompt": question_prompt(comparison.question),
            "chosen": answer_side(comparison.question, chosen),
            "rejected": answer_side(comparison.question, rejected),
            "label": 0.5 if tie else 1.0,
            "tie": tie,
            "strength": strength,
            "margin": float(much_better_margin) if strength == "much_better" else 0.0,
            "id": comparison.id,
            "question": comparison.question,
            "source": comparison.source,
            "annotator": comparison.annotator,
        }


# --------------------------------------------------------------------------- writers


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path, *, overwrite: bool = False) -> int:
    """Write one JSON object a line; the file appears only once complete. Returns the row count."""
    path = _export_target(path)
    if path.is_dir():
        raise FileExistsError(
            f"{path} is a folder and a JSONL export is one file: give a file name, such as "
            f"{path / 'export.jsonl'}"
        )
    _check_target(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    part = _sibling(path, "part")
    try:
        with part.open("x", encoding="utf-8") as out:  # the usual mode for a new file
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return count


def write_hf_dataset(
    rows: Iterable[dict[str, Any]], path: str | Path, columns: tuple[str, ...], *, overwrite: bool = False
) -> int:
    """Write a ``datasets`` folder (``Dataset.save_to_disk``; read back with ``load_from_disk``).

    The folder is written next to ``path`` and then renamed into place, so ``path`` is either the old
    export or the new one, never half of one. With ``overwrite`` an existing ``path`` is replaced only
    if it holds nothing but a previous export's files."""
    from datasets import Dataset, Features, Value

    path = _export_target(path)
    _check_target(path, overwrite)
    if path.exists() or path.is_symlink():
        _check_previous_export(path)
    types = {
        "step": Value("int64"),
        "valid": Value("bool"),
        "label": Value("float64"),
        "margin": Value("float64"),
        "tie": Value("bool"),
    }
    features = Features({column: types.get(column, Value("string")) for column in columns})
    data: dict[str, list[Any]] = {column: [] for column in columns}
    for row in rows:
        for column in columns:
            data[column].append(row[column])
    dataset = Dataset.from_dict(data, features=features)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(path, "part")
    staging.mkdir()
    try:
        dataset.save_to_disk(str(staging), num_shards=1 if len(dataset) == 0 else None)  # 0 shards can't load
        marker = {"columns": list(columns), "rows": len(dataset)}
        (staging / EXPORT_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        _swap_in(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(dataset)


def write_rows(
    rows: Iterable[dict[str, Any]],
    path: str | Path,
    *,
    kind: Literal["bc", "comparisons"],
    fmt: Format = "jsonl",
    overwrite: bool = False,
) -> int:
    """Write ``rows`` of ``kind`` as JSONL or as a ``datasets`` folder. Returns the row count."""
    if fmt == "jsonl":
        return write_jsonl(rows, path, overwrite=overwrite)
    if fmt == "hf":
        return write_hf_dataset(
            rows, path, BC_COLUMNS if kind == "bc" else COMPARISON_COLUMNS, overwrite=overwrite
        )
    raise ValueError(f"unknown export format {fmt!r}; use 'jsonl' or 'hf'")


def write_episodes(records: Iterable[EpisodeRecord], path: str | Path) -> int:
    """Write whole episodes (a trace): into an episode store when ``path`` ends in ``.sqlite``, else as
    JSON lines, written beside the target and renamed into place. Returns the episode count."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    count = 0
    if path.suffix == ".sqlite":
        from demonstrations.store import EpisodeStore

        with EpisodeStore(path) as store:
            for record in records:
                store.save_episode(record)
                count += 1
        return count
    scratch = _sibling(path, "part")
    try:
        with scratch.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(record.model_dump_json() + "\n")
                count += 1
        scratch.replace(path)
    finally:
        scratch.unlink(missing_ok=True)
    return count


def _export_target(path: str | Path) -> Path:
    """``path`` made absolute (so ``.`` and ``..`` have a name to write beside); never the current
    folder or one that holds it, whatever it contains."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    here = Path.cwd()
    if path == here or path in here.parents:
        raise FileExistsError(
            f"{path} is the current folder or holds it; refusing to write an export over it: give the "
            "name of a new file or folder instead"
        )
    return path


def _sibling(path: Path, suffix: str) -> Path:
    """A fresh hidden name next to ``path``, so that renames between the two stay on one file system."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.{suffix}")


def _check_previous_export(path: Path) -> None:
    """Refuse to replace anything but an empty folder or one this module wrote: never delete someone
    else's files."""
    names = [entry.name for entry in path.iterdir()] if path.is_dir() and not path.is_symlink() else None
    if (
        names is None
        or not (not names or EXPORT_MARKER in names or {"dataset_info.json", "state.json"} <= set(names))
        or not all(_EXPORT_FILES.fullmatch(name) and (path / name).is_file() for name in names)
    ):
        raise FileExistsError(
            f"{path} exists and is not a previous datasets export (it holds other files, or is not a "
            "folder); refusing to replace it: choose another path, or move it away yourself"
        )


def _swap_in(staging: Path, path: Path) -> None:
    """Rename the finished ``staging`` folder to ``path``; a previous export there is deleted afterwards."""
    if not path.exists():
        os.rename(staging, path)
        return
    old = _sibling(path, "old")
    os.rename(path, old)
    try:
        os.rename(staging, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old)


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another path or pass overwrite (--force)")
