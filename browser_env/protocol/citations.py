"""The citation grammar of answers: ``[1]``, ``[1, 3]``, ``[1-2]`` (ASCII digits only), and which
sentences of an answer cite which quotes. The recorder and the agent judge answers with these same
functions, so they accept and reject exactly the same answers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from browser_env.abbreviations import is_abbreviation

CITATION = re.compile(r"\[([0-9]{1,3}(?:\s*[,–-]\s*[0-9]{1,3})*)\]")
# The attribution the trained answer format writes before a quoted clause, "According to <title>, “".
ATTRIBUTION = re.compile(r"According to [^“”\n]*?, (?=“)")
_RANGE_LIMIT = 20
# A sentence ends at . ! or ? (then closing quotes or brackets, any citations, and the full stop after a
# quoted sentence's citation: "…at 1.2 AU.)” [1].") before whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*(?:\s*\[[0-9][0-9,\s–-]*\])*\.?(?=\s|$)")
_MIN_SENTENCE_WORDS = 3
_WORD = re.compile(r"\w+")
_LAST_TOKEN = re.compile(r"(\S+)$")


def parse_citations(text: str) -> list[int]:
    """Quote numbers cited in ``text``, each once, in order of first appearance. ``[2-4]`` cites 2, 3
    and 4; a range wider than 20 or backwards counts as its two ends."""
    numbers: list[int] = []
    for match in CITATION.finditer(text):
        for part in re.split(r"\s*,\s*", match.group(1)):
            bounds = re.split(r"\s*[–-]\s*", part)
            first, last = int(bounds[0]), int(bounds[-1])
            numbers += range(first, last + 1) if 0 <= last - first <= _RANGE_LIMIT else [first, last]
    return list(dict.fromkeys(numbers))


def answer_lead(answer: str) -> str:
    """The answer's lead: its text before the first citation (all of it when it cites nothing). In
    "Gustave Eiffel [1]. According to Eiffel Tower, “…” [1]." the lead is "Gustave Eiffel "; an answer
    that begins with its attribution ("According to Eiffel Tower, “…” [1].") has none."""
    if ATTRIBUTION.match(answer):
        return ""
    match = CITATION.search(answer)
    return answer[: match.start()] if match else answer


def citation_problems(answer: str, quote_count: int) -> list[str]:
    """Why ``answer`` cannot stand as an answer citing ``quote_count`` numbered quotes; empty if it can.
    Every sentence must cite a quote, and every citation must name one. Whether each quote is still on
    its page is checked elsewhere (``agent.citations``)."""
    problems = []
    if not answer.strip():
        problems.append("the answer is empty")
    cited = parse_citations(answer)
    if quote_count == 0:
        problems.append("there are no quotes to cite: decline instead")
    elif answer.strip() and not cited:
        problems.append("the answer cites no quote; cite at least one, like [1]")
    missing = [n for n in cited if not 1 <= n <= quote_count]
    if missing and quote_count:
        listed = ", ".join(f"[{n}]" for n in missing)
        verb = "does" if len(missing) == 1 else "do"
        problems.append(f"{listed} {verb} not match any quote (there are {quote_count}: 1-{quote_count})")
    if cited and quote_count:
        for sentence in uncited_sentences(answer):
            short = sentence if len(sentence) <= 80 else sentence[:79] + "…"
            problems.append(f"this sentence cites no quote: {short!r}")
    return problems


@dataclass(frozen=True)
class SentenceCitations:
    """One sentence of an answer and the quotes it cites (empty: the sentence cites nothing)."""

    text: str
    citations: tuple[int, ...]


def sentence_spans(answer: str) -> list[tuple[int, int]]:
    """Where each sentence of ``answer`` is (start, end offsets, surrounding whitespace excluded),
    citations kept with the sentence they follow. Pieces of fewer than three words join the sentence
    after them (a short last piece stands alone), and a full stop after an abbreviation or initials
    (``Dr.``, ``U.S.``) ends nothing."""
    cuts: list[int] = []
    start = 0
    for match in _SENTENCE_END.finditer(answer):
        if not _abbreviation(answer[start : match.start()]):
            cuts.append(match.end())
            start = match.end()
    if not cuts or cuts[-1] < len(answer):
        cuts.append(len(answer))
    spans: list[tuple[int, int]] = []
    begin = 0
    for position, cut in enumerate(cuts):
        piece = answer[begin:cut]
        if not piece.strip():
            begin = cut
            continue
        short = len(_WORD.findall(CITATION.sub(" ", piece))) < _MIN_SENTENCE_WORDS
        if short and position < len(cuts) - 1:
            continue  # too short to stand alone: it joins the next piece
        spans.append((begin + len(piece) - len(piece.lstrip()), begin + len(piece.rstrip())))
        begin = cut
    return spans


def split_sentences(answer: str) -> list[str]:
    """The answer's sentences (see ``sentence_spans``)."""
    return [answer[start:end] for start, end in sentence_spans(answer)]


def _abbreviation(before_stop: str) -> bool:
    token = _LAST_TOKEN.search(before_stop)
    return token is not None and is_abbreviation(token.group(1))


def sentence_citations(answer: str) -> list[SentenceCitations]:
    """Each sentence of ``answer`` with the quote numbers it cites."""
    return [SentenceCitations(s, tuple(parse_citations(s))) for s in split_sentences(answer)]


def uncited_sentences(answer: str) -> list[str]:
    """The sentences that make a claim (three words or more, like every sentence but a short last one:
    "Done!") but cite no quote."""
    return [
        s.text
        for s in sentence_citations(answer)
        if not s.citations and len(_WORD.findall(s.text)) >= _MIN_SENTENCE_WORDS
    ]
