"""Offline corpora: a document store plus search indexes in ``corpora_dir()/<name>/``.

Build one from sources (see ``browser_env.sources.open_source``; the builder is
``browser_env.corpus_build``, its ``build_corpus`` is importable from here too)::

    from browser_env.corpus import build_corpus, open_corpus
    build_corpus("wiki", ["../shared/data/wiki/wiki-2019-63k.jsonl.xz"], dense=False)
    corpus = open_corpus("wiki")
    corpus.search.search("eiffel tower", k=5)
    env = corpus.make_env()

This module is the registry: opening, listing and removing built corpora, and building the default one
when it is missing. ``meta.json`` (written last by a build) describes a finished corpus.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from browser_env.docstore import DocumentStore
from browser_env.home import corpora_dir
from browser_env.sources import SourceError

if TYPE_CHECKING:
    from browser_env.corpus_build import build_corpus
    from browser_env.env import BrowserEnv, EnvConfig
    from browser_env.search import LocalSearch

__all__ = [
    "DEFAULT_CORPUS",
    "Corpus",
    "CorpusError",
    "CorpusInfo",
    "CorpusNotFound",
    "build_corpus",
    "corpus_path",
    "default_sources",
    "ensure_default_corpus",
    "list_corpora",
    "open_corpus",
    "remove_corpus",
]

FORMAT = 1
PASSAGE_TEXT = 4
"""How stored articles become the passages search indexes and shows as snippets. 2: without what dumps
write for bold (capitals), italics (underscores), pictures (file names, caption ends) and markup left in
sentences; 3: words indexed without accents ("pokemon" finds "Pokémon"); 4: without category links,
gallery file names and caption ends in a row. A corpus built at an older revision still opens; only its
search and snippets keep the old text (pages render from the stored documents and are current, unless
titles were linked at build)."""
DEFAULT_CORPUS = "default"
DOCUMENTS_DB = "documents.sqlite"
META = "meta.json"
REQUIRED_FILES = (DOCUMENTS_DB, "passages.sqlite", "passage_doc.npy", "bm25/params.index.json")
DATABASES = {DOCUMENTS_DB: "documents", "passages.sqlite": "passages"}
"""Each SQLite file of a corpus and a table it must hold."""
EMBEDDED_SOURCES = ("wiki-vital", "python-docs")
"""Source kinds the default corpus is built from; a default built from anything else is the user's."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LEFTOVER = re.compile(r"\.(build|old|remove)-(.+)-([0-9]+)")
_SQLITE_HEADER = b"SQLite format 3\x00"


class CorpusError(Exception):
    """A corpus cannot be built or opened; the message says what to do."""


class CorpusNotFound(CorpusError, LookupError):
    """No corpus of that name has been built."""


@dataclass(frozen=True)
class CorpusInfo:
    """One row of ``list_corpora``: what ``meta.json`` says, or the problem reading it."""

    name: str
    path: Path
    documents: int = 0
    passages: int = 0
    dense: bool = False
    size_bytes: int = 0
    built_at: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None
    notice: str | None = None


class Corpus:
    """A built corpus: ``store`` (pages by URL), ``search`` (a SearchBackend), ``fetcher`` (a Fetcher)."""

    def __init__(self, name: str, path: Path, meta: dict[str, Any], *, mode: str | None = None) -> None:
        self.name = name
        self.path = path
        self.meta = meta
        self._mode = mode
        self._store: DocumentStore | None = None
        self._search: LocalSearch | None = None
        self._fetcher: Any = None

    @property
    def store(self) -> DocumentStore:
        if self._store is None:
            self._store = DocumentStore(self.path / DOCUMENTS_DB)
        return self._store

    @property
    def search(self) -> LocalSearch:
        if self._search is None:
            from browser_env.search import LocalSearch

            try:
                self._search = LocalSearch(self.path, mode=self._mode)  # type: ignore[arg-type]
            except (OSError, ValueError, KeyError, RuntimeError) as error:
                raise _damaged(self.name, self.path, str(error)) from error
        return self._search

    @property
    def fetcher(self) -> Any:
        if self._fetcher is None:
            from browser_env.fetch import LocalFetcher

            self._fetcher = LocalFetcher(self.store)
        return self._fetcher

    def damaged(self, problem: str) -> CorpusError:
        """The error for damage found while the corpus is in use (a database that fails mid-file)."""
        return _damaged(self.name, self.path, problem)

    def make_env(self, config: EnvConfig | None = None) -> BrowserEnv:
        from browser_env.env import BrowserEnv

        return BrowserEnv(self.search, self.fetcher, config)

    def close(self) -> None:
        if self._search is not None:
            self._search.close()
            self._search = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self._fetcher = None

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Corpus({self.name!r}, documents={self.meta.get('documents')}, dense={self.meta.get('dense')})"
        )


def corpus_path(name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise CorpusError(
            f"invalid corpus name {name!r}: use letters, digits, '.', '_' or '-' (up to 64, not starting "
            "with '.', '_' or '-')"
        )
    return corpora_dir() / name


def open_corpus(name: str, *, mode: str | None = None) -> Corpus:
    """Open a built corpus (``mode``: bm25, dense or hybrid; default hybrid when it has vectors)."""
    path = corpus_path(name)
    if not path.is_dir():
        built = ", ".join(info.name for info in list_corpora()) or "none"
        raise CorpusNotFound(
            f"no corpus named {name!r} in {corpora_dir()} (built: {built}); "
            f"build it with `webgpt corpus build {name} SOURCE...`"
        )
    meta = _read_meta(name, path)
    if mode not in (None, "bm25", "dense", "hybrid"):
        raise CorpusError(f"unknown search mode {mode!r}: use bm25, dense or hybrid")
    if mode in ("dense", "hybrid") and not meta.get("dense"):
        raise CorpusError(f"corpus {name!r} has no dense vectors (built with --no-dense); use mode bm25")
    notice = outdated_text_notice(name, meta)
    if notice and name not in _NOTICED:
        _NOTICED.add(name)
        print(notice, file=sys.stderr)
    return Corpus(name, path, meta, mode=mode)


_NOTICED: set[str] = set()


def outdated_text_notice(name: str, meta: dict[str, Any]) -> str | None:
    """What to tell the user of a corpus whose passages were cut from an older text revision, or None
    (also for the embedded sources, whose text has none of what the revisions remove)."""
    kinds = {str(source.get("kind")) for source in meta.get("sources", []) if isinstance(source, dict)}
    if int(meta.get("passage_text", 1)) >= PASSAGE_TEXT or kinds <= set(EMBEDDED_SOURCES):
        return None
    revision = int(meta.get("passage_text", 1))
    linked = bool(meta.get("title_links"))  # linked text was stored as HTML at build: pages keep it too
    held = "its pages, search index and snippets" if linked else "its search index and snippets"
    marks = ["the category links and gallery file names of article dumps"]
    if revision < 2:
        marks.insert(0, "the capitals and underscores article dumps write for bold and italics")
    shown = "" if linked else " (pages are shown without them)"
    accents = ", and its search tells accented words from plain ones" if revision < 3 else ""
    return (
        f"Corpus {name!r} was built by an older version: {held} still hold {' and '.join(marks)}{shown}"
        f"{accents}. Rebuild it with `webgpt corpus build {name} SOURCE... --force` to search the text "
        f"as shown."
    )


def list_corpora() -> list[CorpusInfo]:
    """Every corpus folder, finished or damaged (hidden build folders are not corpora)."""
    infos = []
    for path in sorted(corpora_dir().iterdir()):
        if not path.is_dir() or path.name.startswith(".") or not _NAME.fullmatch(path.name):
            continue
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        try:
            meta = _read_meta(path.name, path)
        except CorpusError as error:
            infos.append(CorpusInfo(path.name, path, size_bytes=size, problem=str(error)))
            continue
        infos.append(
            CorpusInfo(
                name=path.name,
                path=path,
                documents=int(meta.get("documents", 0)),
                passages=int(meta.get("passages", 0)),
                dense=bool(meta.get("dense")),
                size_bytes=size,
                built_at=str(meta.get("built_at", "")),
                sources=list(meta.get("sources", [])),
                notice=outdated_text_notice(path.name, meta),
            )
        )
    return infos


def remove_corpus(name: str) -> int:
    """Delete corpus ``name``, and what interrupted builds and removals of it left behind (hidden
    folders, locks). Returns the bytes of such leftovers freed; ``CorpusNotFound`` when there was neither
    a corpus nor a leftover."""
    path = corpus_path(name)
    with build_lock(name):
        freed = remove_leftovers(name)
        if not path.is_dir():
            if freed:
                return freed
            raise CorpusNotFound(f"no corpus named {name!r} in {corpora_dir()}")
        trash = corpora_dir() / f".remove-{name}-{os.getpid()}"
        path.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
    remove_leftovers()
    return freed


def remove_leftovers(name: str | None = None) -> int:
    """Delete the hidden folders (``.build-``, ``.old-``, ``.remove-``) of builds and removals that were
    killed, and the lock files nobody holds: of ``name`` (the caller holds its lock), or of every corpus
    whose lock is free. Returns the bytes freed."""
    folder = corpora_dir()
    freed = 0
    for leftover in folder.iterdir():
        match = _LEFTOVER.fullmatch(leftover.name)
        if match is None or not leftover.is_dir():
            continue
        owner = match.group(2)
        if owner == name:
            freed += _remove_tree(leftover)
            continue
        if name is None and _NAME.fullmatch(owner):
            with _try_lock(owner) as held:
                if held:  # no build or removal of ``owner`` is running: this one was killed
                    freed += _remove_tree(leftover)
    if name is None:
        for lock in folder.glob(".*.lock"):
            owner = lock.name[1 : -len(".lock")]
            if _NAME.fullmatch(owner):
                with _try_lock(owner):
                    pass  # taken and released: a lock nobody holds is deleted on release
    return freed


def _remove_tree(path: Path) -> int:
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    shutil.rmtree(path, ignore_errors=True)
    return size


def default_sources() -> list[str]:
    """The embedded offline web: Wikipedia vital-article summaries, plus the Python docs when installed."""
    from browser_env.sources import python_docs_dir

    sources = ["wiki-vital"]
    with contextlib.suppress(SourceError):
        python_docs_dir()
        sources.append("python-docs")
    return sources


def ensure_default_corpus(*, dense: bool = False, show_progress: bool = True) -> Corpus:
    """Open the corpus "default", building it first if it is missing or damaged.

    BM25 only unless ``dense``: embedding its ~23k passages takes 5-10 minutes on a 2-core CPU, too long for
    a first question; `webgpt corpus build default wiki-vital python-docs --force` adds the vectors."""
    try:
        return open_corpus(DEFAULT_CORPUS)
    except CorpusNotFound:
        force = False
    except CorpusError as error:
        _keep_users_default(error)
        force = True
    from browser_env.corpus_build import build_corpus

    sources = default_sources()
    print(
        f"Building the default offline corpus from {' + '.join(sources)} (once, about a minute; BM25 only: "
        f"`webgpt corpus build {DEFAULT_CORPUS} {' '.join(sources)} --force` adds vectors for hybrid "
        "search, which finds more answers, in about 5 minutes)...",
        file=sys.stderr,
    )
    try:
        return build_corpus(DEFAULT_CORPUS, sources, dense=dense, force=force, show_progress=show_progress)
    except CorpusError:
        if corpus_path(DEFAULT_CORPUS).is_dir():  # another process built it while we waited for the lock
            return open_corpus(DEFAULT_CORPUS)
        raise


def _keep_users_default(error: CorpusError) -> None:
    """Before a damaged default corpus is rebuilt: refuse when the user built it from their own sources;
    when its meta cannot say who built it, move it aside rather than delete it."""
    path = corpus_path(DEFAULT_CORPUS)
    try:
        sources = json.loads((path / META).read_text(encoding="utf-8"))["sources"]
        kinds = {str(source["kind"]) for source in sources}
    except (OSError, ValueError, TypeError, KeyError):
        kinds = None
    if kinds is not None and not kinds <= set(EMBEDDED_SOURCES):
        raise CorpusError(
            f"{error}. It was built from your own sources ({', '.join(sorted(kinds))}), so it is not "
            "replaced with the embedded corpus; to get the embedded corpus instead, remove it first"
        )
    if kinds is None:
        aside = path.with_name(f"{DEFAULT_CORPUS}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        with build_lock(DEFAULT_CORPUS):
            if path.is_dir():
                path.rename(aside)
        print(
            f"The default corpus is damaged ({error}); it was moved to {aside} (delete it with "
            f"`webgpt corpus remove {aside.name}` when you no longer need it). Rebuilding it.",
            file=sys.stderr,
        )
    else:
        print(f"The default corpus is damaged ({error}); rebuilding it.", file=sys.stderr)


def _read_meta(name: str, path: Path) -> dict[str, Any]:
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise _damaged(name, path, "meta.json is missing") from error
    except (OSError, ValueError) as error:
        raise _damaged(name, path, f"meta.json is unreadable: {error}") from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _damaged(name, path, f"meta.json is not format {FORMAT}")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if meta.get("dense") and not (path / "dense.faiss").is_file():
        missing.append("dense.faiss")
    if missing:
        raise _damaged(name, path, f"missing {', '.join(missing)}")
    for database, table in DATABASES.items():
        problem = _database_problem(path / database, table, expect_rows=bool(meta.get("documents")))
        if problem:
            raise _damaged(name, path, f"{database} {problem}")
    return meta


def _database_problem(path: Path, table: str, *, expect_rows: bool) -> str | None:
    """What is wrong with a corpus database, found cheaply (its header and tables), or None."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as error:
        return f"cannot be read: {error}"
    if header != _SQLITE_HEADER:
        return "is not an SQLite database (empty, cut short or overwritten)"
    try:
        with contextlib.closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if table not in tables:
                return f"has no {table} table"
            if expect_rows and db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None:
                return f"has an empty {table} table"
    except sqlite3.Error as error:
        return f"cannot be read: {error}"
    return None


def _damaged(name: str, path: Path, problem: str) -> CorpusError:
    return CorpusError(
        f"corpus {name!r} at {path} is incomplete or damaged ({problem}); rebuild it with "
        f"`webgpt corpus build {name} SOURCE... --force` (or remove it with `webgpt corpus remove {name}`)"
    )


@contextlib.contextmanager
def build_lock(name: str) -> Iterator[None]:
    """One build (or removal) of a given corpus at a time, across processes. The lock file exists only
    while someone holds or waits for it (a killed holder's file goes at the next ``remove_leftovers``)."""
    with _lock(name, blocking=True):
        yield


@contextlib.contextmanager
def _try_lock(name: str) -> Iterator[bool]:
    """``build_lock`` if nobody holds it now (yields True), else yields False at once."""
    try:
        with _lock(name, blocking=False):
            yield True
    except BlockingIOError:
        yield False


@contextlib.contextmanager
def _lock(name: str, *, blocking: bool) -> Iterator[None]:
    path = corpora_dir() / f".{name}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            current = os.stat(path).st_ino if path.exists() else None
        except BaseException:
            os.close(fd)
            raise
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the file was deleted by its last holder while we waited: lock the new one
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # before unlocking, so that waiters see a fresh file
        os.close(fd)


def __getattr__(name: str) -> Any:
    """``build_corpus`` on first use: ``browser_env.corpus_build`` imports this module, not the reverse."""
    if name == "build_corpus":
        from browser_env.corpus_build import build_corpus

        return build_corpus
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
