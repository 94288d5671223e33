"""``webgpt eval``: answer a question set with a policy and measure the answers (training.evaluate).

webgpt eval --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --split test --limit 200
webgpt eval --help
"""

from __future__ import annotations

import typer

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def evaluate(ctx: typer.Context) -> None:
    """Evaluate a policy on a question set: accuracy, citations, latency (flags: webgpt eval --help)."""
    from training.evaluate import main

    raise typer.Exit(main(ctx.args))
