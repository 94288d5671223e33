"""Plain-text formats shared by inference, exports and training, so they can never drift apart.

The answering prompt is the question and the numbered quotes; the reward model reads the same text
followed by the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from browser_env.protocol.citations import ATTRIBUTION, CITATION, split_sentences
from browser_env.protocol.observation import ANSWER, QUESTION, QUOTES

CLAUSE_WORDS = 30
"""Words of the cited quote an answer repeats after its short answer (``cited_answer``)."""


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


def answer_pattern(answer: str) -> re.Pattern[str]:
    """The answer as whole words, any case, any whitespace between its words; not part of a longer number
    (``10`` is not in ``10.04``, ``1,100`` or ``10%``)."""
    parts = [re.escape(part) for part in answer.split()]
    return re.compile(r"(?<!\w)(?<!\d[.,])" + r"\s+".join(parts) + r"(?!\w)(?![.,]\d|\s?%)", re.IGNORECASE)


def window_around(tokens: list[str], answer: str, max_words: int) -> str:
    """``max_words`` of ``tokens`` with ``answer`` a third of the way in (from the start when it is not
    there)."""
    joined = " ".join(tokens)
    match = answer_pattern(answer).search(joined) if answer.strip() else None
    at = len(joined[: match.start()].split()) if match else 0
    start = max(0, min(at - max_words // 3, len(tokens) - max_words))
    return " ".join(tokens[start : start + max_words])


def clause_around(text: str, answer: str, max_words: int) -> str:
    """Up to ``max_words`` words of ``text`` around ``answer``, with ellipses where it was cut."""
    tokens = text.split()
    inner = " ".join(tokens) if len(tokens) <= max_words else window_around(tokens, answer, max_words)
    head = "" if " ".join(tokens).startswith(inner) else "…"
    tail = "" if " ".join(tokens).endswith(inner) else "…"
    return f"{head}{inner.rstrip('.')}{tail}"


def sentence_holding(text: str, anchor: str) -> str:
    """The first sentence of ``text`` that holds ``anchor``, else its first sentence, split as the
    citation check splits an answer: a clause taken from it never reads as an uncited sentence."""
    sentences = split_sentences(text) or [text]
    pattern = answer_pattern(anchor) if anchor.strip() else None
    return next((s for s in sentences if pattern is not None and pattern.search(s)), sentences[0])


def cited_answer(
    lead: str, number: int, title: str, quote: str, clause_words: int, anchor: str | None = None
) -> str:
    """The trained answer format: the short answer, then the clause of quote ``number`` around
    ``anchor`` (the words the quote uses for the answer; the lead by default), verbatim and within the
    sentence that holds it: ``<lead> [n]. According to <title>, “<clause>” [n].``"""
    anchor = lead if anchor is None else anchor
    clause = clause_around(sentence_holding(quote, anchor), anchor, clause_words)
    return f"{lead} [{number}]. According to {title}, “{clause}” [{number}]."


def without_attributions(answer: str) -> str:
    """``answer`` without the "According to <title>," attributions of the trained format: what it
    states (a title says where a source comes from, not what the answer claims)."""
    return ATTRIBUTION.sub("", answer)
