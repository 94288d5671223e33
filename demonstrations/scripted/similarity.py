"""How close in meaning a passage is to a question: the cosine of their MiniLM sentence vectors (the
model the corpus's dense search uses). The demonstrator's support test uses it as a second, independent
check beside its word rules: passages that answer a question sit closer to it than passages that only
mention the answer."""

from __future__ import annotations

from typing import Any


class QuestionSimilarity:
    """``similarity(question, passage)`` in [-1, 1]; the question's vector is kept for the next call."""

    def __init__(self) -> None:
        self._question: str | None = None
        self._vector: Any = None  # numpy vector, imported with the model

    def __call__(self, question: str, passage: str) -> float:
        from browser_env.search.dense import encode

        if question != self._question or self._vector is None:
            self._vector = encode([question])[0]
            self._question = question
        return float(encode([passage])[0] @ self._vector)
