"""The data people and models make: episodes (browsing + answer) and comparisons of answers.

Every record carries ``schema_version``; readers accept older versions and upgrade them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from browser_env.protocol import EndReason

SCHEMA_VERSION = 1

Source = Literal["human", "scripted", "model"]
Preference = Literal["A", "B", "tie"]
Strength = Literal["better", "much_better"]


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


class QuoteRecord(BaseModel):
    """A verbatim extract of a page: ``start``/``end`` are character offsets into the page text, and
    ``page_sha256`` the SHA-256 of that page text when the quote was taken (empty for imported quotes)."""

    url: str
    title: str
    domain: str = ""
    text: str
    start: int = 0
    end: int = 0
    page_sha256: str = ""


class StepRecord(BaseModel):
    """One browsing step. ``observation`` and ``url`` are what was shown *before* the command (the
    page the command was typed on; None before the first page); ``command`` is the command as the
    environment read it (canonical form; invalid text as typed); ``valid``/``error`` say whether it
    succeeded. ``timestamp`` is when the step was taken."""

    index: int
    observation: str
    command: str
    valid: bool = True
    error: str | None = None
    url: str | None = None
    timestamp: datetime = Field(default_factory=now)


class AnswerRecord(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list)


class EpisodeRecord(BaseModel):
    """A whole episode. Replaying ``steps[*].command`` through an environment built from ``corpus`` and
    ``env_config`` with ``question`` reproduces every ``observation``."""

    schema_version: int = SCHEMA_VERSION
    id: str = Field(default_factory=new_id)
    question: str
    source: Source
    annotator: str | None = None
    model_id: str | None = None
    corpus: str | None = None
    env_config: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepRecord] = Field(default_factory=list)
    quotes: list[QuoteRecord] = Field(default_factory=list)
    answer: AnswerRecord | None = None
    end_reason: EndReason | None = None
    gold_answers: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=now)
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.end_reason is not None


class Ratings(BaseModel):
    """Optional 1-7 ratings, as in WebGPT's comparison interface."""

    factual_accuracy: int | None = Field(default=None, ge=1, le=7)
    coherence: int | None = Field(default=None, ge=1, le=7)
    usefulness: int | None = Field(default=None, ge=1, le=7)


class ComparedAnswer(BaseModel):
    text: str
    quotes: list[QuoteRecord] = Field(default_factory=list)
    episode_id: str | None = None
    ratings: Ratings | None = None


class ComparisonRecord(BaseModel):
    """Two answers to one question and which is better (a tie is a 50% label for training)."""

    schema_version: int = SCHEMA_VERSION
    id: str = Field(default_factory=new_id)
    question: str
    answer_a: ComparedAnswer
    answer_b: ComparedAnswer
    preference: Preference
    strength: Strength | None = None
    justification: str = ""
    annotator: str = "unknown"
    source: str = "human"
    created_at: datetime = Field(default_factory=now)


class QuestionRecord(BaseModel):
    """A question waiting in the recorder's queue, with gold answers when known."""

    id: str = Field(default_factory=new_id)
    question: str
    gold_answers: list[str] = Field(default_factory=list)
    source: str = ""
