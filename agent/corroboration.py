"""Corroboration: whether what a sentence adds to the question recurs across the search's results.

A sentence that answers a question says something the question does not (a name, a year, a place), and
when the answer is well known other results of a search for the question say it too. For each candidate
(page title, sentence) the score is the mean, over the sentence's content words whose stems the
question does not use, of log(1 + the number of the first ``results`` results, title and snippet, of a
search for the question that hold that stem). Skimming with ``"corroboration": true`` adds half of it
to the sentence ranker's score of the three best sentences read before quoting one: between sentences
the ranker likes about as much, the one whose new words other results repeat is the likelier answer
(docs/training.md).

The search is the episode's own backend, without the results its environment blocks (``bind``: the
rollout binds it when the episode starts); when it fails, every score is 0 and the ranker's order stands.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from browser_env.protocol.keywords import content_words, stem, stems
from browser_env.web import SearchBackend

SEARCH_RESULTS = 20


def new_stems(question: str, sentence: str) -> set[str]:
    """The stems of ``sentence``'s content words that ``question`` does not use."""
    asked = stems(question)
    return {stem(word) for word in content_words(sentence)} - asked


def result_counts(texts: list[str]) -> Counter[str]:
    """How many of ``texts`` hold each stem (once per text)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({stem(word) for word in content_words(text)})
    return counts


def corroboration(question: str, sentence: str, counts: Counter[str]) -> float:
    """Mean log(1 + results holding it) over ``sentence``'s new stems (0 when it adds none)."""
    added = new_stems(question, sentence)
    if not added:
        return 0.0
    return sum(math.log1p(counts[s]) for s in added) / len(added)


@dataclass
class Corroboration:
    """``score(question, [(title, sentence)])``: each sentence's corroboration by the first ``results``
    results of a search for ``question`` on the bound backend (one search per question, kept)."""

    results: int = SEARCH_RESULTS
    search: SearchBackend | None = None
    _question: str | None = field(default=None, repr=False)
    _counts: Counter[str] = field(default_factory=Counter, repr=False)

    def bind(self, search: SearchBackend) -> None:
        """Search ``search`` from now on (a new episode's backend); the counts kept are dropped."""
        self.search = search
        self.clear()

    def clear(self) -> None:
        self._question, self._counts = None, Counter()

    def counts(self, question: str) -> Counter[str]:
        if question != self._question:
            if self.search is None:
                raise ValueError("corroboration needs a search backend: bind one first")
            try:
                found = self.search.search(question, k=self.results)
            except Exception:  # a search that fails leaves the ranker's order as it is, not the episode ended
                found = []
            self._counts = result_counts([f"{r.title} {r.snippet}" for r in found])
            self._question = question
        return self._counts

    def score(self, question: str, passages: list[tuple[str, str]]) -> list[float]:
        if not passages:
            return []
        counts = self.counts(question)
        return [corroboration(question, sentence, counts) for _, sentence in passages]


def bind_search(scorer: object, search: SearchBackend) -> None:
    """Have ``scorer`` search ``search`` when it is a ``Corroboration`` (other scorers do not search)."""
    if isinstance(scorer, Corroboration):
        scorer.bind(search)
