"""``webgpt browse``: the text browser in a terminal, one command per line from a person or a pipe."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from browser_env.config import EnvConfig

ENV_DEFAULTS = EnvConfig()


def _commands(interactive: bool) -> Iterator[str]:
    if interactive:
        while True:
            try:
                yield input("> ")
            except EOFError:
                return
    else:
        for line in sys.stdin:
            if line.strip():
                yield line.rstrip("\n")


def browse(
    question: Annotated[str, typer.Option("--question", "-q", help="The question being researched.")],
    corpus: Annotated[str, typer.Option(help="Corpus to browse (see `webgpt corpus list`).")] = "default",
    max_actions: Annotated[int, typer.Option(min=1, help="Action budget.")] = ENV_DEFAULTS.max_actions,
    max_quotes: Annotated[int, typer.Option(min=1, help="Quote budget.")] = ENV_DEFAULTS.max_quotes,
    window_lines: Annotated[
        int, typer.Option(min=1, help="Lines of page text shown at a time.")
    ] = ENV_DEFAULTS.window_lines,
) -> None:
    """Browse as the agent does: print each observation, read one command per line, print the quotes."""
    from browser_env.corpus import CorpusNotFound, ensure_default_corpus, open_corpus
    from browser_env.env import EnvConfig

    if not question.strip():
        typer.secho(
            'Error: the question is empty; give the question to research, e.g. --question "Who designed '
            'the Eiffel Tower?"',
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    try:
        source = ensure_default_corpus() if corpus == "default" else open_corpus(corpus)
    except CorpusNotFound as error:
        raise typer.BadParameter(str(error), param_hint="--corpus") from error
    config = EnvConfig(max_actions=max_actions, max_quotes=max_quotes, window_lines=window_lines)
    env = source.make_env(config)
    observation, info = env.reset(options={"question": question})
    interactive = sys.stdin.isatty()
    typer.echo(observation)
    for command in _commands(interactive):
        if not interactive:
            typer.echo(f"> {command}")
        observation, _, terminated, truncated, info = env.step(command)
        typer.echo("")
        typer.echo(observation)
        if terminated or truncated:
            break
    typer.echo("")
    ended = info["end_reason"] or "stopped (no more commands)"
    counts = f"actions taken: {info['actions_taken']}, invalid: {info['invalid_actions']}"
    typer.echo(f"Episode ended: {ended}; {counts}.")
    quotes = info["quotes"]
    typer.echo(f"Quotes collected: {len(quotes)}")
    for number, quote in enumerate(quotes, start=1):
        typer.echo(f"[{number}] {quote['title']} ({quote['url']})\n    {quote['text']}")
