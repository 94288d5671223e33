"""The policy's own answers to answering prompts, as answer-only episodes: what automatic comparisons
(``training.reward_data.automatic_comparisons``) pair up for the reward model.

A full rejection-sampling run browses n times per question; on a CPU that costs minutes per question.
The answer step is where answers differ most, so this samples ``n`` answers (one batch) for prompts
whose quotes are already collected (the reading rows of ``demonstrations.reading_rows``) and keeps
each as an ``EpisodeRecord`` with no steps, its quotes, the answer and the gold answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from agent.citations import check_citations
from agent.policies import load_named_agent
from browser_env.protocol import EndReason
from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuoteRecord


def sample_answer_episodes(
    policy: str,
    rows: Iterable[dict[str, Any]],
    *,
    n: int = 4,
    seed: int = 0,
    temperature: float = 0.8,
) -> Iterator[EpisodeRecord]:
    """``n`` sampled answers from ``policy`` for each row (``question``, ``quotes``, ``gold_answers``)."""
    agent = load_named_agent(policy, temperature=temperature, seed=seed)
    answerer = agent.answerer
    for row in rows:
        quotes = [QuoteRecord(**quote) for quote in row["quotes"]]
        for text in answerer.write(row["question"], quotes, n=n):
            report = check_citations(text, quotes)
            yield EpisodeRecord(
                question=row["question"],
                source="model",
                model_id=answerer.name,
                quotes=quotes,
                answer=AnswerRecord(text=text, citations=report.citations),
                end_reason=EndReason.ANSWER,
                gold_answers=list(row["gold_answers"]),
                metadata={"answer_only": True, "temperature": temperature},
            )
