"""Scores of one question's passages, shared by the episodes that answer it.

Best-of-n's episodes read the same pages for the same question, so a scorer keeps the scores it
computed; a new question starts afresh, so a long run (``webgpt eval`` over thousands of questions,
the recorder) holds one question's scores rather than every question's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass
class QuestionScores(Generic[Key]):
    question: str | None = None
    scores: dict[Key, float] = field(default_factory=dict)

    def get(
        self, question: str, keys: Sequence[Key], compute: Callable[[list[Key]], list[float]]
    ) -> list[float]:
        """The score of each of ``keys`` for ``question``; ``compute`` is called once, on those not
        scored yet for it (each once), and must return one score per key it is given."""
        if question != self.question:
            self.scores.clear()
            self.question = question
        todo = [key for key in dict.fromkeys(keys) if key not in self.scores]
        if todo:
            computed = compute(todo)
            self.scores.update(zip(todo, computed, strict=True))
        return [self.scores[key] for key in keys]

    def clear(self) -> None:
        self.scores.clear()
        self.question = None
