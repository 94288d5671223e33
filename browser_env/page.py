"""A page as the text browser shows it: rendered text with numbered links."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Link:
    """A link on a rendered page; ``domain`` is None for same-site links."""

    id: int
    url: str
    text: str
    domain: str | None = None


@dataclass
class Page:
    """A rendered page.

    ``text`` holds the page as the model reads it: paragraphs separated by newlines, links written
    inline as ``【id†text†domain】`` (or ``【id†text】`` for same-site links), images as ``[Image: alt]``.
    """

    url: str
    title: str
    text: str
    links: list[Link] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return domain_of(self.url)

    @cached_property
    def text_sha256(self) -> str:
        """The fingerprint a quote keeps of the page it came from."""
        return text_sha256(self.text)

    def link(self, link_id: int) -> Link | None:
        for link in self.links:
            if link.id == link_id:
                return link
        return None


def domain_of(url: str) -> str:
    """The host of ``url`` without a leading ``www.``; empty for URLs without one."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def text_sha256(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8), in hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
