"""Split pages into passages of about 100 words for search, keeping paragraphs whole where possible.

Documents are first rendered the way the browser shows them (``browser_env.render_html``,
``browser_env.render_text``), with link markup reduced to the link text, so what search finds is what
the agent reads on the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from browser_env.docstore import Document

TARGET_WORDS = 100
MAX_WORDS = 150
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")


@dataclass(frozen=True)
class Passage:
    url: str
    title: str
    text: str


def document_text(document: Document) -> str:
    """The text of a document as the browser shows it, with link markup reduced to the link text."""
    from browser_env.fetch import render_document
    from browser_env.protocol import strip_links

    return strip_links(render_document(document).text)


def split_passages(text: str, *, target_words: int = TARGET_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """Group the lines (paragraphs, headings) of ``text`` into passages of about ``target_words`` words.

    Short lines are merged with the ones after them; a paragraph longer than ``max_words`` is split at
    sentence ends (or, for run-on text, between words). A short tail joins the passage before it.
    """
    chunks: list[list[str]] = []
    current: list[str] = []
    count = 0
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) > max_words:
            if current:
                chunks.append(current)
                current, count = [], 0
            chunks.extend([piece] for piece in _split_long(words, target_words, max_words))
            continue
        if current and count + len(words) > max_words:
            chunks.append(current)
            current, count = [], 0
        current.append(" ".join(words))
        count += len(words)
        if count >= target_words:
            chunks.append(current)
            current, count = [], 0
    if current:
        if chunks and count < target_words // 4 and _words(chunks[-1]) + count <= max_words:
            chunks[-1].extend(current)
        else:
            chunks.append(current)
    return ["\n".join(chunk) for chunk in chunks]


def passages(document: Document, *, target_words: int = TARGET_WORDS) -> list[Passage]:
    """The passages of one document, each carrying the document's URL and title."""
    text = document_text(document)
    return [
        Passage(document.url, document.title, chunk)
        for chunk in split_passages(text, target_words=target_words, max_words=target_words * 3 // 2)
    ]


def _words(lines: Iterable[str]) -> int:
    return sum(len(line.split()) for line in lines)


def _split_long(words: list[str], target_words: int, max_words: int) -> list[str]:
    """Split one long paragraph at sentence ends into pieces of about ``target_words`` words."""
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(words)):
        sentence_words = sentence.split()
        while len(sentence_words) > max_words:  # run-on text without sentence ends
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(sentence_words[:target_words]))
            sentence_words = sentence_words[target_words:]
        if current and len(current) + len(sentence_words) > max_words:
            pieces.append(" ".join(current))
            current = []
        current.extend(sentence_words)
        if len(current) >= target_words:
            pieces.append(" ".join(current))
            current = []
    if current:
        if (
            pieces
            and len(current) < target_words // 4
            and len(pieces[-1].split()) + len(current) <= max_words
        ):
            pieces[-1] += " " + " ".join(current)
        else:
            pieces.append(" ".join(current))
    return pieces
