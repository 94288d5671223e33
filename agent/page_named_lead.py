"""A "who" answer whose quote is about the person its page is named for leads with that name.

Asked "who has the most gold gloves at shortstop", the model quotes the page "Ozzie Smith" ("…Smith
won a fourth consecutive Gold Glove…") and leads with "Smith"; asked "who wrote papa got a brand new
bag", it quotes "James Brown" ("Having signed a new deal with King, Brown released his song…") and
leads with "King", another name of the sentence. When the question asks who, the cited page's title
reads as a name the question does not hold, and the quote mentions that name, the answer leads with
the title instead, and its clause is cut around the sentence that mentions it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from browser_env.protocol import CITATION, answer_lead, parse_citations
from browser_env.protocol.citations import ATTRIBUTION
from browser_env.protocol.keywords import stems, title_topic
from demonstrations.formats import QuoteLike, cited_answer, without_footnotes

_ASKS_WHO = re.compile(r"\s*(?:who|whose|who's)\b", re.IGNORECASE)
_NAME_PARTICLES = frozenset({"de", "da", "van", "von", "der", "del", "la", "le", "di", "du", "bin", "al"})
MAX_NAME_WORDS = 4


def name_of_page(title: str) -> str | None:
    """The page's title as a name ("Ozzie Smith", "Moctezuma II", "Henry Purcell"; "Jacques de Molay"), or
    None when it does not read as one: a title with a digit, a lower-case word other than a name's
    particle, more than ``MAX_NAME_WORDS`` words, or a list ("List of …")."""
    name = title_topic(title)
    tokens = name.split()
    if not 1 <= len(tokens) <= MAX_NAME_WORDS or any(ch.isdigit() for ch in name) or tokens[0] == "List":
        return None
    if not tokens[0][:1].isupper():
        return None
    if all(token[:1].isupper() or token in _NAME_PARTICLES for token in tokens):
        return name
    return None


def mention(name: str, text: str) -> str | None:
    """The first capitalised word of ``name`` (three letters or more) that ``text`` holds as a word."""
    for token in name.split():
        if len(token) >= 3 and token[:1].isupper() and re.search(rf"\b{re.escape(token)}\b", text):
            return token
    return None


def page_named_lead(question: str, answer: str, quotes: Sequence[QuoteLike], clause_words: int) -> str:
    """``answer`` (the trained format, ``<lead> [n]. According to <title>, “…” [n].``, or its attribution
    alone) led with quote n's page name when the question asks who, the name shares no word with the
    question, the lead does not already hold it, and quote n mentions it; otherwise ``answer`` unchanged."""
    match = CITATION.search(answer)
    attribution = ATTRIBUTION.search(answer)
    if not _ASKS_WHO.match(question) or match is None or attribution is None:
        return answer
    number = parse_citations(match.group(0))[0]
    if not 1 <= number <= len(quotes):
        return answer
    quote = quotes[number - 1]
    name = name_of_page(quote.title)
    if name is None or stems(name) & stems(question) or stems(name) <= stems(answer_lead(answer)):
        return answer
    text = without_footnotes(quote.text)
    anchor = mention(name, text)
    if anchor is None:
        return answer
    return cited_answer(name, number, quote.title, text, clause_words, anchor=anchor)
