"""The train/test split of a question set, fixed by each question's text so that it never depends on
the file's order or on which subset is read: about one question in five is ``test``.

Training (demonstrations, expert iteration, reward-model comparisons) reads only ``train``; evaluations
report on ``test``. Nothing tuned on ``test``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal, TypeVar

Split = Literal["train", "test"]
TEST_SHARE = 5  # one in five
T = TypeVar("T")


def split_of(question: str) -> Split:
    """``test`` for about one question in five, chosen by a hash of the normalised question text."""
    key = " ".join(question.casefold().split()).encode("utf-8")
    return "test" if int(hashlib.sha256(key).hexdigest()[:8], 16) % TEST_SHARE == 0 else "train"


def in_split(item: object, split: Split | Literal["all"]) -> bool:
    """Whether ``item`` (a question string, or anything with ``.question``) belongs to ``split``."""
    return split == "all" or split_of(_question(item)) == split


def select(items: Iterable[T], split: Split | Literal["all"]) -> list[T]:
    """The items of ``split`` (``all``: every item); an item is a question string or has ``.question``."""
    return [item for item in items if in_split(item, split)]


def _question(item: object) -> str:
    return item if isinstance(item, str) else str(getattr(item, "question"))  # noqa: B009
