"""A tiny web held in memory: search and fetch over a list of documents, for tests and examples."""

from __future__ import annotations

import re
from collections.abc import Iterable

from browser_env.docstore import Document
from browser_env.page import Page
from browser_env.web import FetchError, SearchResult

_WORD = re.compile(r"\w+")


def _terms(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


class MemoryWeb:
    """Both a ``SearchBackend`` and a ``Fetcher``: results rank documents by words shared with the query."""

    def __init__(self, documents: Iterable[Document]) -> None:
        self.documents = {document.url: document for document in documents}

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        wanted = _terms(query)
        scored = []
        for order, document in enumerate(self.documents.values()):
            overlap = len(wanted & _terms(document.title)) * 2 + len(wanted & _terms(document.content))
            if overlap:
                scored.append((-overlap, order, document))
        scored.sort(key=lambda item: item[:2])
        return [SearchResult(d.url, d.title, _snippet(d)) for _, _, d in scored[:k]]

    def fetch(self, url: str) -> Page:
        from browser_env.fetch import render_document

        document = self.documents.get(url)
        if document is None:
            raise FetchError(f"page not found: {url}")
        return render_document(document)


def _snippet(document: Document, words: int = 30) -> str:
    text = re.sub(r"<[^>]+>", " ", document.content) if document.content_type == "html" else document.content
    return " ".join(text.split()[:words])
