"""What every corpus source is: a named stream of ``Document`` objects with counts of what it skipped."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from browser_env.docstore import Document

log = logging.getLogger("browser_env.sources")

WIKIPEDIA_BASE = "https://en.wikipedia.org/wiki/"
_WARN_LIMIT = 5


class SourceError(Exception):
    """A source cannot be read at all (missing file, package not installed, unknown kind)."""


@dataclass
class SourceStats:
    documents: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    cut: int = 0
    cuts: list[str] = field(default_factory=list)

    def skip(self, message: str) -> None:
        """Count one skipped item; the first few are logged as warnings, all are counted."""
        self.skipped += 1
        if len(self.problems) < _WARN_LIMIT:
            self.problems.append(message)
            log.warning("skipped: %s", message)

    def note_cut(self, message: str) -> None:
        """Count one document that was only partly read; the first few are logged as warnings."""
        self.cut += 1
        if len(self.cuts) < _WARN_LIMIT:
            self.cuts.append(message)
            log.warning("cut: %s", message)


class Source(ABC):
    """A stream of documents; ``limit`` stops after that many (for subsets and tests)."""

    kind: str = "source"

    def __init__(self, location: str, *, limit: int | None = None) -> None:
        self.location = location
        self.limit = limit
        self.stats = SourceStats()

    @property
    def total(self) -> int | None:
        """How many documents to expect, when that is cheap to know (for progress bars)."""
        return None

    @abstractmethod
    def _documents(self) -> Iterator[Document]: ...

    def documents(self) -> Iterator[Document]:
        """Stream the documents, counting them, and stop at ``limit``."""
        for document in self._documents():
            if self.limit is not None and self.stats.documents >= self.limit:
                return
            self.stats.documents += 1
            yield document
        if self.stats.skipped > _WARN_LIMIT:
            log.warning("%s: skipped %d items in all", self.location, self.stats.skipped)
        if self.stats.cut > _WARN_LIMIT:
            log.warning("%s: cut %d documents in all", self.location, self.stats.cut)

    def check_cut(self, document: Document, texts: Sequence[str]) -> str | None:
        """Whether ``document`` was too big to be read whole: ``texts`` are its indexed passages, whose
        last lines carry the renderer's notes when the page was cut. Counts it and returns the warning.
        """
        from browser_env.render_html import INPUT_CUT_NOTE, MAX_INPUT_BYTES
        from browser_env.render_text import MAX_TEXT_CHARS, OUTPUT_CUT_NOTE

        tail = texts[-1].splitlines()[-2:] if texts else []
        input_cut = INPUT_CUT_NOTE.format(limit=MAX_INPUT_BYTES) in tail
        output_cut = OUTPUT_CUT_NOTE.format(limit=MAX_TEXT_CHARS) in tail
        if not (input_cut or output_cut):
            return None
        size = len(document.content)
        read = f"only the first {MAX_INPUT_BYTES:,} of its {size:,} characters were read" if input_cut else ""
        kept = f"its text stops at {MAX_TEXT_CHARS:,} characters" if output_cut else ""
        what = " and ".join(part for part in (read, kept) if part)
        if not input_cut:
            what += f" (the page has {size:,})"
        message = (
            f"{document.url}: page cut: {what}; the rest cannot be searched or read in the browser "
            "(split the page into smaller files to keep all of it)"
        )
        self.stats.note_cut(message)
        return message

    def searchable(self, document: Document) -> bool:
        """Whether the document's text goes into the search index (every stored page stays fetchable)."""
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "location": self.location,
            "documents": self.stats.documents,
            "skipped": self.stats.skipped,
            "problems": list(self.stats.problems),
            "cut": self.stats.cut,
            "cuts": list(self.stats.cuts),
        }


def title_url(title: str, base: str = WIKIPEDIA_BASE) -> str:
    """A Wikipedia-style address for ``title``: spaces become underscores, the rest is percent-encoded."""
    return base + quote(title.strip().replace(" ", "_"), safe="/:(),'!*;@$&=+-._~")


def slug(text: str) -> str:
    """A host-name-safe form of ``text`` ("My Docs" -> "my-docs")."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "local"
