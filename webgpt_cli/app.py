"""The ``webgpt`` command: a thin layer over the library; each sub-command is a module of this package."""

from __future__ import annotations

import os

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from typer.core import TyperGroup

from browser_env.home import HomeError
from webgpt_cli import ask, browse, comparisons, corpus, demos, evaluate, record, train


class _Commands(TyperGroup):
    """Every command: an unusable data folder (raised wherever it is first needed) is one sentence."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except HomeError as error:
            typer.secho(f"Error: {error}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Commands,
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
app.add_typer(train.app, name="train", help="Train the policy (behaviour cloning) and the reward model.")
app.command("eval", context_settings=evaluate.PASS_THROUGH, add_help_option=False)(evaluate.evaluate)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
