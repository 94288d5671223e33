"""A learned sentence ranker: which sentence on a page answers the question.

A linear score over a few features of (question, page title, sentence): MiniLM similarity, how
much of the question's wording the sentence covers (each word weighted by its rarity in English, from
``wordfreq``), whether the sentence holds the kind of thing the question asks for (a year for "when", a
number for "how many", a name it does not mention for "who"), and how much it adds beyond the question.
``training/sentence_ranker.py`` fits the weights on the training split, labelling a sentence positive
when it holds a gold answer: to rank each question's sentences (a listwise loss), then scaled into
log-odds; the shipped weights are ``agent/weights/sentence-ranker.json``.

It is a ``RelevanceScorer`` (``agent/policies/scripted.py``): scheduled browsing uses it to decide which
sentence to quote. Scores are log-odds; ``threshold`` is the least a sentence must score to be quoted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from agent.question_scores import QuestionScores
from browser_env.protocol.answer_kind import NUMBER, has_new_name, holds_wanted_kind, question_kind
from browser_env.protocol.keywords import content_words, stem, stems, weighted_keywords

SHIPPED_RANKER = Path(__file__).parent / "weights" / "sentence-ranker.json"
DEFAULT_THRESHOLD = -3.0  # log-odds: near the share of positives among the sentences it was fit on
FEATURES = (
    "similarity",
    "coverage",
    "coverage_with_title",
    "rarest_present",
    "wanted_kind",
    "new_name",
    "has_number",
    "novelty",
    "log_words",
)


@lru_cache(maxsize=65536)
def rarity(word: str) -> float:
    """How rare ``word`` is in English: 8 minus its Zipf frequency, at least 0.5."""
    from wordfreq import zipf_frequency

    return max(0.5, 8.0 - zipf_frequency(word, "en"))


def features(question: str, title: str, sentence: str, similarity: float) -> list[float]:
    """The ranker's features, in the order of ``FEATURES``."""
    wanted = weighted_keywords(question, rarity)
    total = sum(wanted.values()) or 1.0
    in_sentence, in_title = stems(sentence), stems(title)
    covered = sum(v for k, v in wanted.items() if k in in_sentence)
    covered_with_title = sum(v for k, v in wanted.items() if k in in_sentence | in_title)
    rarest = max(wanted, key=lambda k: wanted[k]) if wanted else None
    has_number = bool(NUMBER.search(sentence))
    new_name = has_new_name(sentence, question)
    wanted_kind = holds_wanted_kind(question_kind(question), sentence, question)
    sentence_words = content_words(sentence)
    asked = stems(question)
    novelty = sum(stem(w) not in asked for w in sentence_words) / max(1, len(sentence_words))
    return [
        similarity,
        covered / total,
        covered_with_title / total,
        float(rarest is not None and rarest in in_sentence | in_title),
        float(wanted_kind),
        float(new_name),
        float(has_number),
        novelty,
        math.log1p(len(sentence.split())),
    ]


def similarities(question: str, passages: list[tuple[str, str]]) -> list[float]:
    """MiniLM cosine of the question with each ``title: sentence``."""
    from browser_env.search.dense import cosines

    return cosines(question, [f"{title}: {text}" if title else text for title, text in passages])


@dataclass
class SentenceRanker:
    """Log-odds that a sentence answers the question (see the module docstring)."""

    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]
    threshold: float = DEFAULT_THRESHOLD
    kept_scores: QuestionScores[tuple[str, str]] = field(default_factory=QuestionScores, repr=False)

    @classmethod
    def load(cls, path: Path = SHIPPED_RANKER) -> SentenceRanker:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if list(data["features"]) != list(FEATURES):
                raise ValueError(f"features {data['features']} differ from this version's {list(FEATURES)}")
            return cls(
                data["weights"],
                data["bias"],
                data["mean"],
                data["scale"],
                data.get("threshold", DEFAULT_THRESHOLD),
            )
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: not a sentence ranker ({error})") from error

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES),
            "weights": self.weights,
            "bias": self.bias,
            "mean": self.mean,
            "scale": self.scale,
            "threshold": self.threshold,
        }

    def log_odds(self, values: list[float]) -> float:
        standard = [(v - m) / s for v, m, s in zip(values, self.mean, self.scale, strict=True)]
        return self.bias + sum(w * x for w, x in zip(self.weights, standard, strict=True))

    def score(self, question: str, passages: list[tuple[str, str]]) -> list[float]:
        def compute(todo: list[tuple[str, str]]) -> list[float]:
            return [
                self.log_odds(features(question, title, text, similarity))
                for (title, text), similarity in zip(todo, similarities(question, todo), strict=True)
            ]

        return self.kept_scores.get(question, passages, compute)
