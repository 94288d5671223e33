"""Plain-text formats shared by inference, exports and training, so they can never drift apart.

The answering prompt is the question and the numbered quotes; the reward model reads the same text
followed by the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from browser_env.protocol.citations import CITATION
from browser_env.protocol.observation import ANSWER, QUESTION, QUOTES


class QuoteLike(Protocol):
    title: str
    domain: str
    text: str


def without_footnotes(text: str) -> str:
    """A quote as a model reads it: the source's own footnote marks ("…in 1889.[3]") left out, since a
    model that copies one into its answer writes a citation of a quote that does not exist. The quote
    itself stays verbatim."""
    return re.sub(r"[ \t]+", " ", CITATION.sub("", text)).strip()


def format_quotes(quotes: Sequence[QuoteLike]) -> str:
    """``[n] <title> (<domain>)`` then the extract (without its footnote marks), for each quote,
    numbered from 1."""
    blocks = []
    for number, quote in enumerate(quotes, start=1):
        source = f"{quote.title} ({quote.domain})" if quote.domain else quote.title
        blocks.append(f"[{number}] {source}\n{without_footnotes(quote.text)}")
    return "\n\n".join(blocks)


def question_prompt(question: str) -> str:
    """The question block every answering and reward input starts with (what compared answers share)."""
    return f"{QUESTION}\n{question.strip()}\n"


def answer_prompt(question: str, quotes: Sequence[QuoteLike]) -> str:
    """What the answer model reads before it writes the answer."""
    return f"{question_prompt(question)}{QUOTES}\n{format_quotes(quotes)}\n{ANSWER}\n"


def reward_input(question: str, quotes: Sequence[QuoteLike], answer: str) -> str:
    """What the reward model scores: the answering prompt followed by the answer."""
    return answer_prompt(question, quotes) + answer.strip()
