"""BM25's best passages ordered again by a learned linear score: which passages search shows first.

BM25 counts query words; it cannot tell that "when" wants a year, that a passage covering the query's
rarest words beats one repeating a common word, or that an article's own passages about the subject sit
early in it. The ranker scores each of BM25's first ``RERANKED`` passages with a few such features of
(query, passage) and BM25's own score, and orders them by it; passages further down keep BM25's order.
``training/passage_ranker.py`` fits the weights on the training split (listwise: a passage is positive
when it holds a gold answer); the shipped weights are ``browser_env/search/passage-ranker.json``.
``LocalSearch(..., rerank=True)`` and ``webgpt corpus search --rerank`` use it; it is off by default,
since the agent, which reads whole pages, answers no better with it (docs/bench-search.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from browser_env.protocol.answer_kind import has_new_name, holds_wanted_kind, question_kind, wanted_kind_count
from browser_env.protocol.keywords import stems, weighted_keywords

SHIPPED_PASSAGE_RANKER = Path(__file__).with_name("passage-ranker.json")
RERANKED = 30  # BM25's first passages the ranker orders again
FEATURES = (
    "bm25_share",
    "coverage",
    "coverage_with_title",
    "rarest_present",
    "missing_rare",
    "wanted_kind",
    "wanted_count",
    "new_name",
    "log_place",
    "log_words",
)


@dataclass(frozen=True)
class Candidate:
    """One passage BM25 found: its title, text, BM25 score and place in its document (0 for the first)."""

    title: str
    text: str
    bm25: float
    place: int


def features(query: str, candidates: Sequence[Candidate], idf: Callable[[str], float]) -> np.ndarray:
    """One row of ``FEATURES`` per candidate. ``idf`` weighs each query word by its rarity in the corpus."""
    wanted = weighted_keywords(query, idf)
    total = sum(wanted.values()) or 1.0
    rarest = max(wanted, key=lambda k: wanted[k]) if wanted else None
    kind = question_kind(query)
    top = max((c.bm25 for c in candidates), default=0.0) or 1.0
    rows = []
    for candidate in candidates:
        in_text = stems(candidate.text)
        in_page = in_text | stems(candidate.title)
        missing = max((v for k, v in wanted.items() if k not in in_page), default=0.0)
        rows.append(
            [
                candidate.bm25 / top,
                sum(v for k, v in wanted.items() if k in in_text) / total,
                sum(v for k, v in wanted.items() if k in in_page) / total,
                float(rarest is not None and rarest in in_text),
                missing / wanted[rarest] if rarest else 0.0,
                float(holds_wanted_kind(kind, candidate.text, query)),
                math.log1p(wanted_kind_count(kind, candidate.text)),
                float(has_new_name(candidate.text, query)),
                math.log1p(candidate.place),
                math.log1p(len(candidate.text.split())),
            ]
        )
    return np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))


@dataclass(frozen=True)
class PassageRanker:
    """A linear score over standardised ``FEATURES`` (see the module docstring)."""

    weights: list[float]
    mean: list[float]
    scale: list[float]

    @classmethod
    def load(cls, path: Path = SHIPPED_PASSAGE_RANKER) -> PassageRanker:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if list(data["features"]) != list(FEATURES):
                raise ValueError(f"features {data['features']} differ from this version's {list(FEATURES)}")
            ranker = cls(*([float(v) for v in data[key]] for key in ("weights", "mean", "scale")))
            if not len(ranker.weights) == len(ranker.mean) == len(ranker.scale) == len(FEATURES):
                raise ValueError("weights, mean and scale need one value per feature")
            return ranker
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: not a passage ranker ({error})") from error

    def to_json(self) -> dict[str, object]:
        return {"features": list(FEATURES), "weights": self.weights, "mean": self.mean, "scale": self.scale}

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights)

    def order(self, query: str, candidates: Sequence[Candidate], idf: Callable[[str], float]) -> np.ndarray:
        """Indices of ``candidates``, best first (ties keep BM25's order)."""
        if len(candidates) < 2:
            return np.arange(len(candidates))
        return np.argsort(-self.scores(features(query, candidates, idf)), kind="stable")
