"""Kiwix ZIM archives (read with ``libzim``): every HTML entry, stored as raw HTML.

Entries keep their paths under a base URL so relative links between them resolve to stored pages.
Archives whose ``Name`` says Wikipedia (``wikipedia_<lang>_...``) get ``https://<lang>.wikipedia.org/wiki/``,
others ``https://<name>.local/``; pass ``base_url`` to choose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from browser_env.decoding import decode_html
from browser_env.docstore import Document
from browser_env.sources.base import Source, SourceError, slug
from browser_env.sources.html_folder import html_title

_WIKIPEDIA_NAME = re.compile(r"wikipedia_([a-z]{2,3})_")


def _metadata(archive: Any, key: str) -> str:
    try:
        return bytes(archive.get_metadata(key)).decode("utf-8", errors="replace").strip()
    except (KeyError, RuntimeError):
        return ""


class ZimSource(Source):
    kind = "zim"

    def __init__(self, path: str | Path, *, base_url: str | None = None, limit: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"no such file: {self.path}")
        try:
            from libzim.reader import Archive
        except ImportError as error:
            raise SourceError("reading ZIM files needs libzim: `pip install libzim`") from error
        try:
            self.archive = Archive(self.path)
        except RuntimeError as error:
            raise SourceError(f"{self.path} is not a readable ZIM archive: {error}") from error
        super().__init__(str(self.path.resolve()), limit=limit)
        base = base_url or self._default_base()
        self.base_url = base if base.endswith("/") else base + "/"

    def _default_base(self) -> str:
        name = _metadata(self.archive, "Name") or self.path.stem
        match = _WIKIPEDIA_NAME.match(name)
        if match:
            return f"https://{match.group(1)}.wikipedia.org/wiki/"
        return f"https://{slug(name)}.local/"

    @property
    def total(self) -> int | None:
        count = self.archive.entry_count
        return count if self.limit is None else min(count, self.limit)

    def _documents(self) -> Iterator[Document]:
        old_scheme = not self.archive.has_new_namespace_scheme
        for entry_id in range(self.archive.entry_count):
            try:
                entry = self.archive._get_entry_by_id(entry_id)
                if entry.is_redirect:
                    continue
                path = entry.path
                if old_scheme:
                    if not path.startswith("A/"):
                        continue
                    path = path[2:]
                item = entry.get_item()
                if not item.mimetype.startswith("text/html"):
                    continue
                markup = decode_html(bytes(item.content))
            except (RuntimeError, KeyError, UnicodeError) as error:
                self.stats.skip(f"{self.path.name} entry {entry_id}: {error}")
                continue
            yield Document(
                url=self.base_url + quote(path, safe="/:(),'!*;@$&=+-._~"),
                title=entry.title or html_title(markup, fallback=path),
                content=markup,
                content_type="html",
            )
