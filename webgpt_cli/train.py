"""``webgpt train bc|rm|rs|recipe``: behaviour cloning, the reward model, rejection sampling (expert
iteration), and the shipped weights' whole recipe.

Every flag comes from the stage's config dataclass (``training.bc.BCConfig``,
``training.reward.RMConfig``); ``--config PRESET.yaml`` sets many at once and flags override it:

    webgpt train bc --config training/presets/bc-smollm2-cpu.yaml --max_steps 50
    webgpt train rm --data comparisons.jsonl --output_dir runs/rm
    webgpt train bc --help
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Train the policy (behaviour cloning) and the reward model.")
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@app.command("bc", context_settings=_PASS_THROUGH, add_help_option=False)
def bc(ctx: typer.Context) -> None:
    """Behaviour cloning: fine-tune the policy on demonstrations (flags: webgpt train bc --help)."""
    from training.bc import main

    raise typer.Exit(main(ctx.args))


@app.command("rm", context_settings=_PASS_THROUGH, add_help_option=False)
def rm(ctx: typer.Context) -> None:
    """The reward model: learn from comparisons (flags: webgpt train rm --help)."""
    from training.reward import main

    raise typer.Exit(main(ctx.args))


@app.command("rs", context_settings=_PASS_THROUGH, add_help_option=False)
def rs(ctx: typer.Context) -> None:
    """Rejection sampling: keep the reward model's pick of n episodes as new demonstrations."""
    from training.rejection_sampling import main

    raise typer.Exit(main(ctx.args))


@app.command("recipe", context_settings=_PASS_THROUGH, add_help_option=False)
def recipe(ctx: typer.Context) -> None:
    """The shipped weights' recipe, every stage, resumable (flags: webgpt train recipe --help)."""
    from training.recipe import main

    raise typer.Exit(main(ctx.args))


@app.command("reader", context_settings=_PASS_THROUGH, add_help_option=False)
def reader(ctx: typer.Context) -> None:
    """The span reader that picks the words an answer starts with (flags: webgpt train reader --help)."""
    from training.span_reader import main

    raise typer.Exit(main(ctx.args))


@app.command("ranker", context_settings=_PASS_THROUGH, add_help_option=False)
def ranker(ctx: typer.Context) -> None:
    """The sentence ranker scheduled browsing quotes with (flags: webgpt train ranker --help)."""
    from training.sentence_ranker import main

    raise typer.Exit(main(ctx.args))


@app.command("passage-ranker", context_settings=_PASS_THROUGH, add_help_option=False)
def passage_ranker(ctx: typer.Context) -> None:
    """The passage ranker that orders BM25's first passages again (flags: webgpt train passage-ranker
    --help)."""
    from training.passage_ranker import main

    raise typer.Exit(main(ctx.args))


@app.command("reranker", context_settings=_PASS_THROUGH, add_help_option=False)
def reranker(ctx: typer.Context) -> None:
    """The cross-encoder that orders each page's best sentences again (flags: webgpt train reranker
    --help)."""
    from training.sentence_reranker import main

    raise typer.Exit(main(ctx.args))
