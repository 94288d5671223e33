"""Reward-model data: comparison rows in, tokenized pairs out, and automatic comparisons from episodes.

Rows are those of ``webgpt demos export comparisons`` (a JSONL file or a ``datasets`` folder): TRL's
``prompt``/``chosen``/``rejected`` plus ``label`` (1.0, or 0.5 for a tie), ``tie``, ``margin``,
``source`` and ``question``; missing extras default to a plain preference. Held-out pairs are chosen
by question (every pair of a question on the same side), by a hash, so the split never changes.

Automatic comparisons (``automatic_comparisons``) pair answers to the same question where one is right
(a gold answer in it) and fully supported (every sentence cites, and a cited quote holds the gold) and
the other is not; they are ``ComparisonRecord``s with ``source="automatic"``, exportable like any other.

    rows = read_comparison_rows(["pairs.jsonl", "exports/truthfulqa"])
    train, held_out = split_by_question(rows, 0.1)
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from browser_env.protocol.observation import ANSWER, QUOTES
from demonstrations.imports import question_id
from demonstrations.schemas import ComparedAnswer, ComparisonRecord, EpisodeRecord
from training.answer_metrics import contains_gold

AUTOMATIC = "automatic"
REQUIRED = ("chosen", "rejected")
_ANSWER_MARK = f"\n{ANSWER}\n"


class DataError(ValueError):
    """Comparison data that cannot be used; the message names the file and what is wrong."""


# --------------------------------------------------------------------------- reading rows


def read_comparison_rows(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Every row of every export (JSONL file or ``datasets`` folder), with the extra columns filled in."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            from datasets import load_from_disk

            try:
                raw: Iterable[Any] = load_from_disk(str(path))
            except Exception as error:  # datasets raises several types for a folder that is not one
                raise DataError(f"{path}: not a datasets folder ({error})") from error
        elif path.is_file():
            raw = _jsonl(path)
        else:
            raise DataError(f"{path}: no such file or folder (give a comparisons export)")
        for number, row in enumerate(raw, start=1):
            rows.append(normalize_row(row, f"{path}:{number}"))
    return rows


def _jsonl(path: Path) -> Iterable[Any]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{path}:{number}: not JSON ({error.msg})") from None


def normalize_row(row: Any, where: str = "<row>") -> dict[str, Any]:
    """One comparison row with ``prompt``, ``chosen``, ``rejected``, ``label``, ``tie``, ``margin``,
    ``source`` and ``question`` (a tie is ``label`` 0.5; ``tie`` alone implies it)."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object")
    missing = [c for c in REQUIRED if not isinstance(row.get(c), str)]
    if missing:
        names = ", ".join(missing)
        raise DataError(f"{where}: missing text column(s) {names} (is this a comparisons export?)")
    tie = bool(row.get("tie") or False)
    label = row.get("label")
    label = (0.5 if tie else 1.0) if label is None else float(label)
    if not 0.0 <= label <= 1.0:
        raise DataError(f"{where}: label {label} is outside [0, 1]")
    prompt = row.get("prompt") or ""
    return {
        "prompt": prompt,
        "chosen": row["chosen"],
        "rejected": row["rejected"],
        "label": label,
        "tie": tie or 0.0 < label < 1.0,
        "margin": float(row.get("margin") or 0.0),
        "source": str(row.get("source") or "unknown"),
        "question": str(row.get("question") or prompt),
    }


def held_out(question: str, fraction: float) -> bool:
    """Whether a question's pairs are held out: a stable hash of the normalised question."""
    digest = hashlib.sha256(" ".join(question.lower().split()).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_by_question(
    rows: Sequence[dict[str, Any]], fraction: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training rows, held-out rows), every pair of a question on the same side."""
    train, evaluation = [], []
    for row in rows:
        (evaluation if held_out(row["question"], fraction) else train).append(row)
    return train, evaluation


def cap_per_source(rows: Sequence[dict[str, Any]], limit: int, seed: int = 0) -> list[dict[str, Any]]:
    """At most ``limit`` rows of each source (0: all), drawn with ``seed``; the rest keep their order."""
    if limit <= 0:
        return list(rows)
    by_source: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_source[str(row.get("source"))].append(index)
    rng = random.Random(seed)
    kept = {
        i
        for indices in by_source.values()
        for i in (indices if len(indices) <= limit else rng.sample(indices, limit))
    }
    return [row for index, row in enumerate(rows) if index in kept]


def answer_text(side: str) -> str:
    """The answer in one side of a pair (after ``♦Answer``; the whole side when there is no marker)."""
    at = side.rfind(_ANSWER_MARK)
    if at < 0:
        return side[len(ANSWER) + 1 :] if side.startswith(ANSWER + "\n") else side
    return side[at + len(_ANSWER_MARK) :]


# --------------------------------------------------------------------------- tokenizing


def encode(tokenizer: Any, prompt: str, side: str, max_length: int) -> list[int]:
    """Token ids of ``prompt + side`` + eos, at most ``max_length``: the quotes are cut first (their
    end), never the answer; only an answer that alone is too long loses its beginning, as at inference."""
    eos = tokenizer.eos_token or ""
    text = prompt + side
    if eos and not text.endswith(eos):
        text += eos
    if not getattr(tokenizer, "is_fast", False):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids[-max_length:]
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    excess = len(ids) - max_length
    if excess <= 0:
        return ids
    quotes_at = text.find(QUOTES + "\n", len(prompt))
    answer_at = text.rfind(_ANSWER_MARK)
    if quotes_at >= 0 and answer_at > quotes_at:
        body_start = quotes_at + len(QUOTES) + 1
        body = [i for i, (start, end) in enumerate(offsets) if start >= body_start and end <= answer_at]
        drop = set(body[-excess:]) if body else set()
        ids = [token for i, token in enumerate(ids) if i not in drop]
    return ids[-max_length:]


# --------------------------------------------------------------------------- automatic comparisons


def is_supported(answer: str, quotes: Sequence[Any], gold: Sequence[str]) -> bool:
    """Every sentence cites a quote, every citation names one, and a cited quote holds a gold answer."""
    from agent.citations import check_citations

    report = check_citations(answer, quotes)
    if not report.supported:
        return False
    return any(contains_gold(quotes[n - 1].text, gold) for n in report.citations if 1 <= n <= len(quotes))


def automatic_comparisons(
    episodes: Iterable[EpisodeRecord],
    *,
    gold: dict[str, Sequence[str]] | None = None,
    max_pairs_per_question: int = 8,
) -> list[ComparisonRecord]:
    """Comparisons of answers to the same question: a correct, fully supported answer against one that
    is not (wrong, or not backed by its cited quotes), ``source="automatic"``. Gold answers come from
    each episode (``gold_answers``) or from ``gold`` (question → answers). Episodes without an answer or
    gold are skipped; the good answer is A and B in turn, so position says nothing."""
    by_question: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for episode in episodes:
        if episode.answer and episode.answer.text.strip():
            by_question[episode.question.strip()].append(episode)
    out: list[ComparisonRecord] = []
    for question, answered in by_question.items():
        answers = list((gold or {}).get(question, ())) or next(
            (e.gold_answers for e in answered if e.gold_answers), []
        )
        if not answers:
            continue
        good, bad, seen = [], [], set()
        for episode in answered:
            text = episode.answer.text.strip()  # type: ignore[union-attr]
            if text in seen:
                continue
            seen.add(text)
            right = contains_gold(text, answers) and is_supported(text, episode.quotes, answers)
            (good if right else bad).append(episode)
        pairs = [(g, b) for g in good for b in bad][:max_pairs_per_question]
        for number, (winner, loser) in enumerate(pairs):
            swap = number % 2 == 1
            a, b = (loser, winner) if swap else (winner, loser)
            out.append(
                ComparisonRecord(
                    id=question_id(AUTOMATIC, f"{question}\n{winner.id}\n{loser.id}"),
                    question=question,
                    answer_a=_compared(a),
                    answer_b=_compared(b),
                    preference="B" if swap else "A",
                    justification="automatic: the preferred answer holds a gold answer and every sentence "
                    "cites a quote, one of which holds it; the other does not",
                    annotator=AUTOMATIC,
                    source=AUTOMATIC,
                )
            )
    return out


def _compared(episode: EpisodeRecord) -> ComparedAnswer:
    assert episode.answer is not None
    return ComparedAnswer(text=episode.answer.text, quotes=list(episode.quotes), episode_id=episode.id)


def read_episodes(path: str | Path) -> list[EpisodeRecord]:
    """Episodes from an episode store (``.sqlite``) or a JSONL trace (one ``EpisodeRecord`` a line)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file (give an episode store .sqlite or a JSONL trace)")
    if path.suffix == ".sqlite":
        from demonstrations.store import EpisodeStore

        with EpisodeStore(path) as store:
            return list(store.iter_episodes(finished=True))
    return [EpisodeRecord.model_validate(row) for row in _jsonl(path)]
