"""``webgpt corpus``: build, list, search and remove offline corpora (the local web).

webgpt corpus build wiki ../shared/data/wiki/wiki-2019-63k.jsonl.xz --no-dense
webgpt corpus build docs python-docs ./my-html-folder
webgpt corpus list
webgpt corpus search wiki "eiffel tower" -k 5
webgpt corpus remove docs
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Build, list, search and remove offline corpora.")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


@app.command()
def build(
    name: Annotated[str, typer.Argument(help="Corpus name (letters, digits, '.', '_', '-').")],
    sources: Annotated[
        list[str],
        typer.Argument(
            help="wiki-vital, python-docs, a folder of HTML files, a .jsonl/.jsonl.gz/.jsonl.xz file "
            "of {title, text[, url]}, or a .zim archive.",
            show_default=False,
        ),
    ],
    dense: Annotated[
        bool,
        typer.Option(
            "--dense/--no-dense", help="Also index MiniLM vectors (hybrid search; slow on big corpora)."
        ),
    ] = True,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing corpus of that name.")] = False,
    limit: Annotated[
        int | None, typer.Option(help="Read at most this many documents per source.", min=1)
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="URL base for HTML folders, ZIM entries and JSONL rows without a url."),
    ] = None,
    link_titles: Annotated[
        bool, typer.Option("--link-titles", help="In plain-text documents, link mentions of other titles.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Build a corpus: store every page and index its passages for search."""
    from browser_env.corpus import CorpusError, build_corpus

    try:
        corpus = build_corpus(
            name,
            sources,
            dense=dense,
            force=force,
            limit=limit,
            base_url=base_url,
            show_progress=not quiet,
            link_titles=link_titles,
        )
    except CorpusError as error:
        raise _fail(str(error)) from None
    meta = corpus.meta
    for source in meta["sources"]:
        skipped = f", {source['skipped']} skipped" if source["skipped"] else ""
        typer.echo(f"  {source['kind']}: {source['location']}: {source['documents']} documents{skipped}")
        for problem in source["problems"]:
            typer.echo(f"    skipped: {problem}")
    duplicates = (
        f" ({meta['duplicates_skipped']} duplicate URLs skipped)" if meta["duplicates_skipped"] else ""
    )
    typer.echo(
        f"Built corpus {name!r}: {meta['documents']} documents{duplicates}, {meta['passages']} passages, "
        f"dense={'yes' if meta['dense'] else 'no'}, in {meta['build_seconds']:.1f} s -> {corpus.path}"
    )


@app.command("list")
def list_command() -> None:
    """List the built corpora."""
    from rich.console import Console
    from rich.table import Table

    from browser_env.corpus import list_corpora
    from browser_env.home import corpora_dir

    infos = list_corpora()
    if not infos:
        typer.echo(f"No corpora in {corpora_dir()}. Build one with `webgpt corpus build NAME SOURCE...`.")
        return
    table = Table("name", "documents", "passages", "dense", "size", "built at", "sources")
    for info in infos:
        if info.problem:
            table.add_row(info.name, "-", "-", "-", _size(info.size_bytes), "-", f"[red]{info.problem}[/red]")
            continue
        table.add_row(
            info.name,
            f"{info.documents:,}",
            f"{info.passages:,}",
            "yes" if info.dense else "no",
            _size(info.size_bytes),
            info.built_at,
            ", ".join(s.get("kind", "?") for s in info.sources),
        )
    Console(width=160).print(table)
    for info in infos:
        if info.notice:
            typer.echo(info.notice)


@app.command()
def search(
    name: Annotated[str, typer.Argument(help="Corpus name.")],
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: Annotated[int, typer.Option("-k", help="How many results.", min=1)] = 10,
    mode: Annotated[
        str | None, typer.Option(help="bm25, dense or hybrid (default: hybrid when the corpus has vectors).")
    ] = None,
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank/--no-rerank",
            help="bm25: order BM25's first passages again with the learned passage ranker.",
        ),
    ] = False,
    passage_ranker: Annotated[
        Path | None,
        typer.Option(
            help="With --rerank: the passage ranker's weights (webgpt train passage-ranker writes them)."
        ),
    ] = None,
) -> None:
    """Search a corpus and print the results (url, title, snippet)."""
    from browser_env.corpus import CorpusError, open_corpus
    from browser_env.search.passage_ranker import PassageRanker

    if mode not in (None, "bm25", "dense", "hybrid"):
        raise _fail(f"unknown mode {mode!r}: use bm25, dense or hybrid")
    if passage_ranker is not None:
        if not rerank:
            raise _fail("--passage-ranker orders results only with --rerank")
        try:
            PassageRanker.load(passage_ranker)
        except ValueError as error:
            raise _fail(str(error)) from None
    try:
        with open_corpus(name, mode=mode) as corpus:
            corpus.search.rerank = rerank
            if passage_ranker is not None:
                corpus.search.passage_ranker = passage_ranker
            try:
                results = corpus.search.search(query, k=k)
            except sqlite3.DatabaseError as error:
                raise corpus.damaged(f"{type(error).__name__}: {error}") from error
    except CorpusError as error:
        raise _fail(str(error)) from None
    if not results:
        typer.echo("No results.")
    for n, result in enumerate(results, start=1):
        typer.echo(f"{n}. {result.title}\n   {result.url}\n   {result.snippet}\n")


@app.command()
def remove(name: Annotated[str, typer.Argument(help="Corpus name.")]) -> None:
    """Delete a corpus and its indexes."""
    from browser_env.corpus import CorpusError, corpus_path, remove_corpus

    try:
        existed = corpus_path(name).is_dir()
        freed = remove_corpus(name)
    except CorpusError as error:
        raise _fail(str(error)) from None
    if existed:
        typer.echo(f"Removed corpus {name!r}.")
    if freed:
        typer.echo(f"Removed what interrupted builds of {name!r} left behind ({_size(freed)}).")


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
