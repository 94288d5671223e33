"""The best-of-n picks of bench/rerank.py on stored candidates: the oracle keeps what `webgpt train rs
--pick gold` keeps, a reward pick takes the highest reward (and with a margin keeps the first candidate
unless beaten by more), the vote takes the most common short answer."""

from __future__ import annotations

from types import ModuleType

import pytest
from bench_modules import load_bench

from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuoteRecord

QUESTION = "Who wrote Moby-Dick?"
RIGHT = QuoteRecord(url="https://w/Moby-Dick", title="Moby-Dick", text="It was written by Herman Melville.")
WRONG = QuoteRecord(url="https://w/Whale", title="Whale", text="Whales are large marine mammals.")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("rerank")


def candidate(text: str | None, quote: QuoteRecord) -> EpisodeRecord:
    return EpisodeRecord(
        question=QUESTION,
        source="model",
        quotes=[quote],
        answer=AnswerRecord(text=text, citations=[1]) if text else None,
        end_reason="answer" if text else "abandoned",
        gold_answers=["Herman Melville"],
    )


def test_the_oracle_prefers_a_right_cited_answer_whose_short_answer_is_right_too(bench: ModuleType) -> None:
    candidates = [
        candidate("Whales [1].", WRONG),
        candidate("A novelist [1]. It was written by Herman Melville [1].", RIGHT),  # right, lead wrong
        candidate("Herman Melville [1].", RIGHT),  # right with a right short answer
        candidate("Herman Melville [1].", WRONG),  # right, but its quote does not hold the gold
    ]
    assert bench.pick_oracle(candidates) == 2
    assert bench.pick_oracle(candidates[:2]) == 1
    assert bench.pick_oracle([candidates[0], candidates[3]]) == 0  # none cites the gold: the first


def test_reward_picks_with_and_without_a_margin_over_the_first(bench: ModuleType) -> None:
    candidates = [candidate("Whales [1].", WRONG), candidate(None, RIGHT), candidate("Melville [1].", RIGHT)]
    rewards = {QUESTION: [0.5, 9.0, 0.75]}
    assert bench.by_reward(rewards)(candidates) == 2  # the unanswered one ranks below every answer
    assert bench.by_reward(rewards, margin=0.125)(candidates) == 2
    assert bench.by_reward(rewards, margin=0.25)(candidates) == 0  # beaten by 0.25, not by more
    assert bench.by_reward({QUESTION: [0.5, 9.0, 0.5]})(candidates) == 0  # ties to the earlier


def test_the_vote_takes_the_earliest_of_the_most_common_short_answers(bench: ModuleType) -> None:
    candidates = [
        candidate("Whales [1].", WRONG),
        candidate("Herman Melville [1].", RIGHT),
        candidate("herman melville [1]. It was written by Herman Melville [1].", RIGHT),
    ]
    assert bench.pick_vote(candidates) == 1
    assert bench.pick_vote([candidate(None, RIGHT)]) == 0
