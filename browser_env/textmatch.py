"""Matching text the way Find and Quote do: Unicode-folded (NFKC, then case-folded), ignoring link
markup and runs of whitespace. Find, Quote and quote verification all match through this module.

Link markup ``【id†text†domain】`` counts as its ``text`` alone. Offsets returned are offsets into the
page text as rendered (markup included), so a quote can always be found again on its page.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from browser_env.protocol import LINK_MARKUP, QUOTE_SEPARATOR
from browser_env.protocol.links import strip_markup_fragments

_LINK_TEXT = 2  # the link text's group in LINK_MARKUP


@dataclass(frozen=True)
class _Folded:
    """The page text folded for matching, and where each folded character came from."""

    text: str
    origin: tuple[int, ...]


def fold(text: str) -> str:
    """``text`` as matching compares it: NFKC-normalised and case-folded (whitespace kept)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _fold_into(source: str, offsets: range, chars: list[str], origin: list[int]) -> None:
    index, length = 0, len(source)
    while index < length:
        char, offset = source[index], offsets[index]
        index += 1
        if char.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(offset)
            continue
        cluster = char  # a base character and the combining marks after it fold together
        while index < length and not source[index].isascii() and unicodedata.combining(source[index]):
            cluster += source[index]
            index += 1
        if len(cluster) == 1 and char.isascii():
            chars.append(char.lower())
            origin.append(offset)
            continue
        for folded in fold(cluster):
            if folded.isspace():
                if chars and chars[-1] != " ":
                    chars.append(" ")
                    origin.append(offset)
                continue
            chars.append(folded)
            origin.append(offset)


@lru_cache(maxsize=64)
def _fold(text: str) -> _Folded:
    chars: list[str] = []
    origin: list[int] = []
    position = 0
    for match in LINK_MARKUP.finditer(text):
        _fold_into(text[position : match.start()], range(position, match.start()), chars, origin)
        link = range(match.start(_LINK_TEXT), match.end(_LINK_TEXT))
        _fold_into(match.group(_LINK_TEXT), link, chars, origin)
        position = match.end()
    _fold_into(text[position:], range(position, len(text)), chars, origin)
    return _Folded("".join(chars), tuple(origin))


def normalize(text: str) -> str:
    """Link markup to link text, NFKC and case-folded, runs of whitespace to one space, trimmed."""
    return _fold(text.strip()).text.strip()


def _needle(text: str) -> str:
    return strip_markup_fragments(normalize(text))


def _span(folded: _Folded, start: int, length: int) -> tuple[int, int]:
    return folded.origin[start], folded.origin[start + length - 1] + 1


def _whole_characters(folded: _Folded, start: int, length: int) -> bool:
    """Whether the match begins and ends on a page character's edge, not inside what one character folds
    to ("f" is not matched inside "ﬁ", which folds to "fi")."""
    origin, end = folded.origin, start + length
    return (start == 0 or origin[start - 1] != origin[start]) and (
        end == len(origin) or origin[end] != origin[end - 1]
    )


def find_span(page_text: str, needle: str, start: int = 0) -> tuple[int, int] | None:
    """The first match of ``needle`` in ``page_text`` starting at or after offset ``start``."""
    target = _needle(needle)
    if not target:
        return None
    folded = _fold(page_text)
    begin = bisect_left(folded.origin, start)
    index = folded.text.find(target, begin)
    while index >= 0 and not _whole_characters(folded, index, len(target)):
        index = folded.text.find(target, index + 1)
    if index < 0:
        return None
    first, last = _span(folded, index, len(target))
    while last < len(page_text) and not page_text[last].isascii() and unicodedata.combining(page_text[last]):
        last += 1  # the combining marks of the last character belong to the match
    return first, last


def locate_quote(page_text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` (plain, or ``start━end``) occurs verbatim on the page, up to case, whitespace and
    link markup; None if it does not."""
    if QUOTE_SEPARATOR not in quote:
        return find_span(page_text, quote)
    head, _, tail = quote.partition(QUOTE_SEPARATOR)
    if not head.strip() or not tail.strip():
        return None
    first = find_span(page_text, head)
    if first is None:
        return None
    last = find_span(page_text, tail, first[1])
    if last is None:
        return None
    return first[0], last[1]


def extract(page_text: str, span: tuple[int, int]) -> str:
    """The quoted text as a reader sees it: link markup removed, whitespace collapsed."""
    start, end = span
    plain, origin = _plain(page_text)
    first, last = bisect_left(origin, start), bisect_left(origin, end)
    return " ".join(plain[first:last].split())


@lru_cache(maxsize=64)
def _plain(text: str) -> tuple[str, tuple[int, ...]]:
    """The page text with link markup reduced to link text, and each character's offset in ``text``."""
    chars: list[str] = []
    origin: list[int] = []
    position = 0
    for match in LINK_MARKUP.finditer(text):
        chars.append(text[position : match.start()])
        origin.extend(range(position, match.start()))
        chars.append(match.group(_LINK_TEXT))
        origin.extend(range(match.start(_LINK_TEXT), match.end(_LINK_TEXT)))
        position = match.end()
    chars.append(text[position:])
    origin.extend(range(position, len(text)))
    return "".join(chars), tuple(origin)


def verify_quote(
    page_text: str, quote: str, start: int | None = None, end: int | None = None, page_sha256: str = ""
) -> str | None:
    """Whether ``quote`` stands on ``page_text``: None if it does, else why not.

    With the SHA-256 of the page the quote was taken from, the page must be that very page and the
    quote must be the text at its recorded offsets; a page that changed since is accepted only if the
    quote is still on it. Without a hash, the quote must occur on the page."""
    from browser_env.page import text_sha256

    if page_sha256 and text_sha256(page_text) == page_sha256 and start is not None and end is not None:
        if 0 <= start < end <= len(page_text) and normalize(extract(page_text, (start, end))) == normalize(
            quote
        ):
            return None
        return "the quote is not the text at its recorded place on its page"
    if locate_quote(page_text, quote) is None:
        changed = " (the page has changed since it was quoted)" if page_sha256 else ""
        return f"the quote is not on its page{changed}"
    return None
