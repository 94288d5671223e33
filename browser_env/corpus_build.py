"""Build an offline corpus (document store plus search indexes) from sources.

    from browser_env.corpus_build import build_corpus
    corpus = build_corpus("wiki", ["../shared/data/wiki/wiki-2019-63k.jsonl.xz"], dense=False)

A build writes into a hidden temporary folder and renames it into place at the end, so an interrupted
build never leaves a half-built corpus behind; ``meta.json`` (written last) describes a finished one.
Opening, listing and removing corpora is ``browser_env.corpus``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from browser_env.corpus import (
    DOCUMENTS_DB,
    FORMAT,
    META,
    PASSAGE_TEXT,
    Corpus,
    CorpusError,
    build_lock,
    corpus_path,
    remove_leftovers,
)
from browser_env.docstore import Document, DocumentStore
from browser_env.home import corpora_dir
from browser_env.sources import Source, SourceError, open_source

_BATCH = 500


def build_corpus(
    name: str,
    sources: Sequence[str | Source],
    *,
    dense: bool = True,
    force: bool = False,
    limit: int | None = None,
    base_url: str | None = None,
    show_progress: bool = True,
    link_titles: bool = False,
) -> Corpus:
    """Build corpus ``name`` from ``sources`` and open it.

    ``limit`` caps the documents read from each source; ``base_url`` sets the URL base of HTML folders,
    ZIM archives and JSONL rows without a URL; ``link_titles`` links, in plain-text documents, the first
    mention of each other document's title. Raises ``CorpusError`` if it exists (unless ``force``).
    """
    target = corpus_path(name)
    if not sources:
        raise CorpusError("give at least one source")
    show_progress = show_progress and sys.stderr.isatty()  # in a log, progress bars are only \r and codes
    with build_lock(name):
        if target.exists() and not force:
            raise CorpusError(f"corpus {name!r} already exists at {target}; pass --force to rebuild it")
        try:
            opened = [
                s if isinstance(s, Source) else open_source(s, base_url=base_url, limit=limit)
                for s in sources
            ]
        except SourceError as error:
            raise CorpusError(str(error)) from error
        temporary = corpora_dir() / f".build-{name}-{os.getpid()}"
        remove_leftovers(name)
        remove_leftovers()
        temporary.mkdir(parents=True)
        try:
            meta = _build_into(
                temporary, name, opened, dense=dense, show_progress=show_progress, link_titles=link_titles
            )
            _replace(temporary, target)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return Corpus(name, target, meta)


def _build_into(
    folder: Path, name: str, sources: list[Source], *, dense: bool, show_progress: bool, link_titles: bool
) -> dict[str, Any]:
    from tqdm import tqdm

    from browser_env.passages import passages
    from browser_env.search import IndexBuilder

    started = time.perf_counter()
    store = DocumentStore(folder / DOCUMENTS_DB)
    builder = IndexBuilder(folder, dense=dense, show_progress=show_progress)
    seen: set[str] = set()
    duplicates = 0
    try:
        for source in sources:
            batch: list[Document] = []
            documents = tqdm(
                source.documents(),
                total=source.total,
                desc=_label(source),
                unit=" docs",
                disable=not show_progress,
            )
            for document in documents:
                if document.url in seen:
                    duplicates += 1
                    continue
                seen.add(document.url)
                batch.append(document)
                if source.searchable(document):
                    try:
                        texts = [p.text for p in passages(document)]
                    except Exception as error:  # a page that cannot be rendered is stored, not indexed
                        source.stats.skip(f"{document.url}: not indexed: {type(error).__name__}: {error}")
                        texts = []
                    builder.add(document.url, document.title, texts)
                    source.check_cut(document, texts)
                if len(batch) >= _BATCH:
                    store.put_many(batch)
                    batch.clear()
            store.put_many(batch)
        if builder.passages == 0:
            raise CorpusError("the sources hold no text to index (no documents, or all of them empty)")
        links = _link_titles(store, show_progress) if link_titles else None
        index_stats = builder.finish()
    finally:
        store.close()
    meta = {
        "format": FORMAT,
        "passage_text": PASSAGE_TEXT,
        "name": name,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 2),
        "sources": [source.describe() for source in sources],
        "documents": len(seen),
        "duplicates_skipped": duplicates,
        "passages": index_stats["passages"],
        "indexed_documents": index_stats["indexed_documents"],
        "vocabulary": index_stats["vocabulary"],
        "dense": dense,
        "title_links": links,
        "dense_model": "sentence-transformers/all-MiniLM-L6-v2" if dense else None,
        "bm25": {
            "tokenizer": "bm25s",
            "stopwords": "en",
            "stemmer": "snowball-english",
            "k1": 1.5,
            "b": 0.75,
        },
        "timings": index_stats["timings"],
        "versions": _versions(dense),
    }
    (folder / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _link_titles(store: DocumentStore, show_progress: bool) -> dict[str, int]:
    """Rewrite plain-text documents as HTML whose first mention of each other title is a link."""
    from tqdm import tqdm

    from browser_env.fetch import render_document
    from browser_env.sources.links import TitleLinker

    reader = DocumentStore(store.path)
    try:
        linker = TitleLinker((d.title, d.url) for d in reader if d.content_type == "text")
        rewritten: list[Document] = []
        counts = {"documents_linked": 0, "links": 0}
        for document in tqdm(
            reader, total=len(reader), desc="title links", unit=" docs", disable=not show_progress
        ):
            if document.content_type != "text":
                continue
            page = render_document(document)
            markup = linker.to_html(document.title, page.text.splitlines(), document.url)
            added = markup.count("<a href=")
            if not added:
                continue
            counts["documents_linked"] += 1
            counts["links"] += added
            rewritten.append(Document(document.url, document.title, markup, "html"))
            if len(rewritten) >= _BATCH:
                store.put_many(rewritten)
                rewritten.clear()
        store.put_many(rewritten)
    finally:
        reader.close()
    return counts


def _replace(new: Path, target: Path) -> None:
    """Move a finished build into place; an existing corpus is swapped out, then deleted."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}")
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _versions(dense: bool) -> dict[str, str]:
    packages = ["webgpt", "bm25s", "PyStemmer"] + (
        ["faiss-cpu", "sentence-transformers", "torch"] if dense else []
    )
    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _label(source: Source) -> str:
    if source.kind in ("wiki-vital", "python-docs"):
        return source.kind
    return f"{source.kind} {Path(source.location).name}"
