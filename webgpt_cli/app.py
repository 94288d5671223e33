"""The ``webgpt`` command: a thin layer over the library; each sub-command is a module of this package."""

from __future__ import annotations

import os

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from webgpt_cli import ask, browse, comparisons, corpus, demos, record

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="A browsing question-answering agent that cites verbatim quotes.",
)
app.add_typer(corpus.app, name="corpus", help="Build and list offline corpora (the local web).")
demos.app.command("queue-comparisons")(comparisons.queue_comparisons)
app.add_typer(demos.app, name="demos", help="Generate, import and export demonstrations and comparisons.")
app.command("browse")(browse.browse)
app.command("ask")(ask.ask)
app.command("record")(record.record)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
