"""How good an answer is, against gold answers: the metrics ``webgpt eval`` reports, one function each.

Answers are compared after SQuAD-style normalisation (lower case, no possessive 's, no punctuation, no
articles, single spaces) with their ``[n]`` citations removed. Containment rewards pasting long quotes,
so accuracy is also reported for answers of at most ``max_words`` words.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from browser_env.protocol import CITATION, answer_lead, sentence_citations, uncited_sentences
from demonstrations.formats import without_attributions, without_footnotes

_PUNCTUATION = str.maketrans("", "", string.punctuation + "“”‘’–—…")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")  # "Eiffel's company" holds "Eiffel"


class CitedQuote(Protocol):
    text: str
    title: str


def normalize_answer(text: str) -> str:
    """Lower case, citations, possessive 's, punctuation and articles removed, whitespace collapsed."""
    text = _POSSESSIVE.sub("", CITATION.sub(" ", text).lower()).translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(answer: str, golds: Sequence[str]) -> bool:
    """The whole answer is one of the gold answers (after normalisation)."""
    normalized = normalize_answer(answer)
    return bool(normalized) and any(normalized == normalize_answer(g) for g in golds if normalize_answer(g))


def contains_gold(text: str, golds: Sequence[str]) -> bool:
    """A gold answer occurs in ``text`` as whole words (after normalisation)."""
    padded = f" {normalize_answer(text)} "
    return any(f" {g} " in padded for g in (normalize_answer(x) for x in golds) if g)


def word_count(answer: str) -> int:
    """Words of the answer (tokens with a letter or digit), citations not counted."""
    return sum(any(c.isalnum() for c in token) for token in CITATION.sub(" ", answer).split())


def correct_within(answer: str, golds: Sequence[str], max_words: int = 40) -> bool:
    """Holds a gold answer and is at most ``max_words`` words long."""
    return word_count(answer) <= max_words and contains_gold(answer, golds)


def cited_sentence_share(answer: str) -> float | None:
    """The share of the answer's claims (sentences that cite, or of three words or more: the rule of
    ``browser_env.protocol.citation_problems``) that cite a quote; None when there is none."""
    cited = sum(bool(s.citations) for s in sentence_citations(answer))
    claims = cited + len(uncited_sentences(answer))
    return cited / claims if claims else None


def gold_in_cited_quote(answer: str, golds: Sequence[str], quotes: Sequence[CitedQuote]) -> bool:
    """Some quote the answer cites (``[n]``, numbered from 1) holds a gold answer."""
    from browser_env.protocol import parse_citations

    cited = [quotes[n - 1] for n in parse_citations(answer) if 1 <= n <= len(quotes)]
    return any(contains_gold(quote.text, golds) for quote in cited)


def gold_in_cited_source(answer: str, golds: Sequence[str], quotes: Sequence[CitedQuote]) -> bool:
    """Some quote the answer cites holds a gold answer in its text or in its page's title, as the
    answer's references show a quote ("[1] Ozzie Smith (wikipedia)" above "Smith won a fourth
    consecutive Gold Glove…")."""
    from browser_env.protocol import parse_citations

    cited = [quotes[n - 1] for n in parse_citations(answer) if 1 <= n <= len(quotes)]
    return any(contains_gold(quote.title, golds) or contains_gold(quote.text, golds) for quote in cited)


_EXCERPT = re.compile(r"“([^”]*)”|\"([^\"]*)\"")
_ELLIPSIS = re.compile(r"…|\.\.\.")
_QUOTE_MARKS = str.maketrans({mark: '"' for mark in "‘’“”'"})  # one mark for every quote mark


def _plain(text: str) -> str:
    return " ".join(without_footnotes(text).translate(_QUOTE_MARKS).split())


def excerpts_verbatim(answer: str, quotes: Sequence[CitedQuote]) -> bool | None:
    """Whether every excerpt the answer puts in quotation marks (“…”, or "…"), taken piece by piece
    between its ellipses, is word for word in one of the quotes (whitespace, the kind of quote mark or
    apostrophe, footnote marks and a piece's own end punctuation aside). None when it quotes nothing."""
    sources = [_plain(quote.text) for quote in quotes]
    pieces = [
        piece
        for match in _EXCERPT.finditer(answer)
        for raw in _ELLIPSIS.split(match.group(1) if match.group(1) is not None else match.group(2))
        if (piece := _plain(raw).strip(" .,;:"))
    ]
    if not pieces:
        return None
    return all(any(piece in source for source in sources) for piece in pieces)


@dataclass(frozen=True)
class AnswerScore:
    """Every per-question metric of one answer (``declined``: no answer was given; ``gold_in_quotes``:
    some collected quote holds a gold answer, whatever the answer says: what browsing found;
    ``lead_correct``: the lead holds a gold answer, so it is right without the quote it repeats;
    ``claim_correct``: a gold answer is in what the answer states, the titles it attributes quotes to
    left out (``correct`` also counts "According to Ozzie Smith," for "who has the most gold gloves");
    ``excerpts_verbatim``: ``excerpts_verbatim``, None when the answer quotes nothing)."""

    declined: bool
    exact: bool
    correct: bool
    correct_short: bool
    words: int
    has_citation: bool
    cited_share: float | None
    verified_share: float | None
    correct_and_cited: bool
    gold_in_quotes: bool
    lead_correct: bool
    excerpts_verbatim: bool | None = None
    claim_correct: bool = False
    correct_and_sourced: bool = False


def score_answer(
    answer: str,
    golds: Sequence[str],
    quotes: Sequence[CitedQuote],
    *,
    declined: bool = False,
    verified: Sequence[bool | None] = (),
    max_words: int = 40,
) -> AnswerScore:
    """All metrics for one answer; ``verified`` gives, per cited reference, whether its quote verified."""
    from browser_env.protocol import parse_citations

    held = any(contains_gold(quote.text, golds) for quote in quotes)
    if declined:
        return AnswerScore(True, False, False, False, 0, False, None, None, False, held, False)
    cited = parse_citations(answer)
    checks = [v for v in verified if v is not None]
    correct = contains_gold(answer, golds)
    return AnswerScore(
        declined=False,
        exact=exact_match(answer, golds),
        correct=correct,
        correct_short=correct and word_count(answer) <= max_words,
        words=word_count(answer),
        has_citation=bool(cited),
        cited_share=cited_sentence_share(answer),
        verified_share=sum(checks) / len(checks) if checks else None,
        correct_and_cited=correct and gold_in_cited_quote(answer, golds, quotes),
        gold_in_quotes=held,
        lead_correct=contains_gold(answer_lead(answer), golds),
        excerpts_verbatim=excerpts_verbatim(answer, quotes),
        claim_correct=contains_gold(without_attributions(answer), golds),
        correct_and_sourced=correct and gold_in_cited_source(answer, golds, quotes),
    )


def mean(values: Sequence[float | bool | None]) -> float | None:
    """The mean of the values that are not None; None when there are none."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None
