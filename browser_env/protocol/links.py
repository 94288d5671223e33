"""Link markup: how a link is written into page text (``【id†text†domain】``) and read back."""

from __future__ import annotations

import re

LINK_OPEN = "【"
LINK_CLOSE = "】"
LINK_FIELD = "†"

# ASCII digits only: a fullwidth or other Unicode digit is never a link id.
LINK_MARKUP = re.compile(r"【([0-9]+)†([^†】\n]*)(?:†([^】\n]*))?】")
# Any bracketed span, well-formed or not: wrapping never breaks a line inside one.
LINK_SPAN = re.compile(r"【[^】\n]*】")
# What a selection that began or ended inside link markup can carry: brackets, "12†", "†domain】".
_MARKUP_FRAGMENT = re.compile(r"[【】]|[0-9]+†|†[^\s】]*】?")
_MARKUP_CHARS = str.maketrans({LINK_OPEN: "[", LINK_CLOSE: "]", LINK_FIELD: "+"})


def format_link(link_id: int, text: str, domain: str | None = None) -> str:
    """``【id†text†domain】``, or ``【id†text】`` for a same-site link; ``text`` is made safe first."""
    body = f"{link_id}{LINK_FIELD}{link_text(text)}"
    if domain:
        body += f"{LINK_FIELD}{link_text(domain)}"
    return f"{LINK_OPEN}{body}{LINK_CLOSE}"


def link_text(text: str) -> str:
    """``text`` on one line with no character that could open, split or close link markup."""
    return " ".join(text.translate(_MARKUP_CHARS).split())


def plain_text(text: str) -> str:
    """``text`` with the markup characters replaced, so that it can never be read as a link."""
    return text.replace(LINK_OPEN, "[").replace(LINK_CLOSE, "]")


def strip_links(text: str) -> str:
    """Every link's markup replaced by its text."""
    return LINK_MARKUP.sub(lambda match: match.group(2), text)


def link_ids(text: str) -> list[int]:
    """The ids of the links written in ``text``, in order."""
    return [int(match.group(1)) for match in LINK_MARKUP.finditer(text)]


def unlink(text: str, ids: set[int]) -> str:
    """``text`` with the links whose id is in ``ids`` reduced to their text."""
    if not ids:
        return text
    return LINK_MARKUP.sub(lambda m: m.group(2) if int(m.group(1)) in ids else m.group(0), text)


def strip_markup_fragments(text: str) -> str:
    """``text`` without stray pieces of link markup (from a selection cut inside a link)."""
    if LINK_OPEN not in text and LINK_CLOSE not in text:
        return text
    return _MARKUP_FRAGMENT.sub("", text).strip()
