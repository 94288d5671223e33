"""A folder of HTML files, stored as raw HTML under a base URL so relative links resolve to stored pages.

A file ``library/os.html`` under base ``https://docs.python.org/3/`` becomes
``https://docs.python.org/3/library/os.html``; a link ``../tutorial/index.html`` on it resolves (with
``urljoin``) to another stored page. ``python-docs`` is the Debian ``python3-doc`` folder under the real
docs.python.org base.
"""

from __future__ import annotations

import fnmatch
import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from browser_env.decoding import binary_kind, decode_html
from browser_env.docstore import Document
from browser_env.sources.base import Source, SourceError, slug

PYTHON_DOCS_BASE = "https://docs.python.org/3/"
PYTHON_DOCS_DIRS = ("/usr/share/doc/python3/html", "/usr/share/doc/python3-doc/html")
# Index pages: stored (links to them work) but not searched, or every query would hit them.
PYTHON_DOCS_UNSEARCHED = ("genindex*.html", "search.html")

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_SUFFIXES = (".html", ".htm")


def python_docs_dir() -> Path:
    """The installed Python HTML documentation; ``SourceError`` with the install command if absent."""
    candidates = [Path(p) for p in PYTHON_DOCS_DIRS]
    candidates += sorted(Path("/usr/share/doc").glob("python3.*/html"), reverse=True)
    for folder in candidates:
        if (folder / "index.html").is_file():
            return folder.resolve()
    raise SourceError(
        "the Python HTML documentation is not installed: run `apt-get install python3-doc` "
        "(it installs under /usr/share/doc/python3/html)"
    )


def html_title(markup: str, fallback: str) -> str:
    """The text of the first <title>, unescaped and with whitespace collapsed."""
    match = _TITLE.search(markup, 0, 200_000)
    if not match:
        return fallback
    return " ".join(html.unescape(match.group(1)).split()) or fallback


class HtmlFolderSource(Source):
    """Every ``*.html``/``*.htm`` under ``folder`` (hidden folders skipped), in path order."""

    kind = "html"

    def __init__(
        self,
        folder: str | Path,
        *,
        base_url: str | None = None,
        limit: int | None = None,
        unsearched: tuple[str, ...] = (),
    ) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"no such folder: {self.folder}")
        super().__init__(str(self.folder.resolve()), limit=limit)
        base = base_url or f"https://{slug(self.folder.resolve().name)}.local/"
        self.base_url = base if base.endswith("/") else base + "/"
        self.unsearched = unsearched
        self._files: list[Path] | None = None

    def files(self) -> list[Path]:
        if self._files is None:
            self._files = sorted(
                path
                for path in self.folder.rglob("*")
                if path.suffix.lower() in _SUFFIXES
                and path.is_file()
                and not any(part.startswith(".") for part in path.relative_to(self.folder).parts)
            )
        return self._files

    @property
    def total(self) -> int | None:
        count = len(self.files())
        return count if self.limit is None else min(count, self.limit)

    def url_for(self, path: Path) -> str:
        return self.base_url + quote(path.relative_to(self.folder).as_posix(), safe="/")

    def _documents(self) -> Iterator[Document]:
        for path in self.files():
            try:
                data = path.read_bytes()
            except OSError as error:
                self.stats.skip(f"{path}: {error}")
                continue
            kind = binary_kind(data)
            if kind is not None:
                self.stats.skip(f"{path}: not an HTML page but {kind}")
                continue
            text = decode_html(data)
            yield Document(
                url=self.url_for(path),
                title=html_title(text, fallback=path.stem),
                content=text,
                content_type="html",
            )

    def searchable(self, document: Document) -> bool:
        name = document.url.removeprefix(self.base_url)
        return not any(fnmatch.fnmatch(name, pattern) for pattern in self.unsearched)


def python_docs_source(*, limit: int | None = None) -> HtmlFolderSource:
    source = HtmlFolderSource(
        python_docs_dir(), base_url=PYTHON_DOCS_BASE, limit=limit, unsearched=PYTHON_DOCS_UNSEARCHED
    )
    source.kind = "python-docs"
    return source
