"""``webgpt demos queue-comparisons``: sample two model answers per question and queue them as a pair
for people to compare in the recorder (its compare page offers queued pairs first), as WebGPT's
comparisons were of model answers.

    webgpt demos queue-comparisons --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --limit 50
    webgpt demos queue-comparisons --questions questions.jsonl --corpus wiki --policy scripted   # no model

Both episodes of a pair are stored (source ``model``) with their steps and quotes; a question whose
samples are declined, have no answer or give the same answer twice is skipped and counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agent.models import DEFAULT_MODEL_ID, SHIPPED_POLICY_ID
from webgpt_cli.demos import DbOption, _fail, _open_corpus, _open_store


def queue_comparisons(
    questions: Annotated[
        Path, typer.Option("--questions", "-q", help="Question file (JSONL, JSON, CSV or text).")
    ],
    corpus: Annotated[
        str, typer.Option("--corpus", "-c", help="Corpus to browse (see `webgpt corpus list`).")
    ],
    policy: Annotated[
        str,
        typer.Option(
            help=f"Policy: the shipped trained one ({SHIPPED_POLICY_ID}), the untrained base "
            f"({DEFAULT_MODEL_ID}), a checkpoint folder, a hub id, or 'scripted' (no model)."
        ),
    ] = SHIPPED_POLICY_ID,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N questions.")] = None,
    tries: Annotated[
        int, typer.Option(min=2, max=16, help="Episodes sampled per question to find two different answers.")
    ] = 4,
    temperature: Annotated[
        float, typer.Option(min=0.01, max=2.0, help="Sampling temperature (two samples must differ).")
    ] = 0.8,
    seed: Annotated[int, typer.Option(help="Seed for sampling.")] = 0,
    device: Annotated[str | None, typer.Option(help="Device for the model (cpu, cuda, mps).")] = None,
    db: DbOption = None,
) -> None:
    """Sample answers to each question until two differ, store both episodes and queue them as a pair to
    compare (the recorder's Compare page offers queued pairs first)."""
    from demonstrations.imports import ImportFormatError, load_questions

    try:
        records = load_questions(questions)
    except ImportFormatError as error:
        raise _fail(str(error)) from None
    selected = records[:limit] if limit is not None else records
    if not selected:
        raise _fail(f"{questions}: no questions to answer")
    opened = _open_corpus(corpus)
    store = _open_store(db)
    try:
        agent = _sampler(policy, temperature, seed, device)
        queued = skipped = 0
        for record in selected:
            pair = _two_answers(record.question, agent, opened, tries)
            if pair is None:
                skipped += 1
                typer.echo(f"  skipped (no two different answers in {tries} samples): {record.question}")
                continue
            for episode in pair:
                episode.metadata["question_id"] = record.id
                episode.gold_answers = list(record.gold_answers)
                store.save_episode(episode)
            store.queue_pair(pair[0].id, pair[1].id, source="model")
            queued += 1
            typer.echo(f"  queued: {record.question}")
    finally:
        store.close()
        opened.close()
    pairs = "pair" if queued == 1 else "pairs"
    typer.echo(
        f"{queued} {pairs} of model answers queued for comparison, {skipped} skipped, in {store.path}; "
        "people compare them on the recorder's Compare page (webgpt record)."
    )


def _sampler(policy: str, temperature: float, seed: int, device: str | None) -> Any:
    """The agent whose samples are compared (``load_named_agent``): its policy and answerer sample at
    ``temperature``, from ``seed`` on."""
    from agent.models import ModelNotFound
    from agent.policies import load_named_agent

    try:
        return load_named_agent(policy, temperature=temperature, seed=seed, device=device)
    except (ModelNotFound, ValueError) as error:
        raise _fail(str(error)) from None


def _two_answers(question: str, agent: Any, opened: Any, tries: int) -> Any:
    from agent.rollout import run_episode

    first = None
    for attempt in range(tries):
        result = run_episode(
            question,
            agent.policy,
            opened.search,
            opened.fetcher,
            answerer=agent.answerer,
            corpus=opened.name,
            metadata={"queued_for_comparison": True, "sample": attempt},
        )
        record = result.record
        if record.answer is None:
            continue
        if first is None:
            first = record
        elif record.answer.text != first.answer.text:  # type: ignore[union-attr]
            return first, record
    return None
