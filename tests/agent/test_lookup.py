from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from agent.models import load_causal_lm
from agent.policies.engine import LMEngine, _Decoding, token_probs
from agent.policies.lookup import draft, verify


@pytest.fixture(scope="module")
def engine(tiny_lm_dir: Path) -> LMEngine:
    return LMEngine(load_causal_lm(str(tiny_lm_dir), device="cpu", dtype="float32"))


class CountingForwards:
    """Counts the engine's forwards while it decodes."""

    def __init__(self, engine: LMEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        inner = engine._forward

        def counted(*args, **kwargs):
            self.count += 1
            return inner(*args, **kwargs)

        monkeypatch.setattr(engine, "_forward", counted)


def test_a_draft_copies_what_followed_the_latest_longest_match() -> None:
    assert draft([1, 2, 3, 9, 8, 1, 2, 3, 7, 6, 5, 2, 3], 3) == [7, 6, 5]  # "2 3" last seen before 7
    assert draft([5, 1, 2, 3, 4, 9, 2, 3], 2) == [4, 9]  # the longest match is kept ("2 3", not "3")
    assert draft([4, 5, 6, 7, 4], 10) == [5, 6, 7, 4]  # may run up to the end of the context
    assert draft([1, 2, 3], 5) == []  # nothing recurs
    assert draft([1, 1], 0) == []
    assert draft([], 4) == []


def test_greedy_lookup_gives_the_same_tokens_with_fewer_forwards(
    engine: LMEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompt = engine.encode("the tower is tall and the tower is old and the tower is")
    prefill = engine.prefill(prompt)
    plain = engine.generate(prefill, max_new_tokens=40, temperature=0, stop_at_newline=False, draft_tokens=0)
    forwards = CountingForwards(engine, monkeypatch)
    looked_up = engine.generate(prefill, max_new_tokens=40, temperature=0, stop_at_newline=False)
    assert looked_up == plain
    assert len(plain[0]) == 40
    assert forwards.count < 39  # token by token takes one forward per token after the first


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_a_batch_with_lookup_decodes_as_token_by_token(
    engine: LMEngine, penalty: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = [  # of different lengths (left padding); rows keep different numbers of guesses
        engine.encode("x y x y x y x"),
        engine.encode("Paris"),
        engine.encode("the tower is tall and the tower is old and the tower is"),
    ]

    def decode(draft_tokens: int) -> list[list[list[int]]]:
        return engine.generate_batch(
            prompts,
            n=2,
            max_new_tokens=40,
            temperature=0,
            stop_at_newline=False,
            repetition_penalty=penalty,
            draft_tokens=draft_tokens,
        )

    plain = decode(0)
    forwards = CountingForwards(engine, monkeypatch)
    assert decode(10) == plain
    if penalty == 1.0:  # this random model repeats itself, so guesses from its own output are kept
        assert forwards.count < 40


def test_a_guess_is_checked_with_the_penalty_of_the_guesses_before_it() -> None:
    how = _Decoding(10, 0.0, 1.0, False, None, None, repetition_penalty=1.3, draft_tokens=10)
    row = torch.tensor([[0.0, 2.0, 1.9], [0.0, 2.0, 1.9]])
    verdict = verify([1, 1], LMEngine._position_scores(row, [], [1, 1], how, 0), greedy=True)
    assert (verdict.kept, verdict.following) == (1, 2)  # 2.0 / 1.3 < 1.9 once token 1 is written
    how.repetition_penalty = 1.0
    assert verify([1, 1], LMEngine._position_scores(row, [], [1, 1], how, 0), greedy=True).kept == 2


def test_lookup_keeps_stops_and_the_token_budget(engine: LMEngine) -> None:
    prompt = engine.encode("a b c a b c a b c a b")
    prefill = engine.prefill(prompt)
    rows = engine.generate(prefill, n=3, max_new_tokens=7, temperature=1.0, generator=engine.new_generator(1))
    assert all(len(row) <= 7 for row in rows)
    stopped = engine.generate(
        prefill, max_new_tokens=30, temperature=0, stop_at_newline=False, stop=lambda text: len(text) >= 3
    )[0]
    plain = engine.generate(
        prefill,
        max_new_tokens=30,
        temperature=0,
        stop_at_newline=False,
        stop=lambda text: len(text) >= 3,
        draft_tokens=0,
    )[0]
    assert stopped == plain
    assert len(engine.decode(stopped)) >= 3 and len(engine.decode(stopped[:-1])) < 3


def test_checking_a_sampled_guess_keeps_the_models_distribution() -> None:
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    generator = torch.Generator().manual_seed(0)
    draws = 20_000
    for guess in (0, 3):  # a likely guess and an unlikely one
        counts: Counter[int] = Counter()
        for _ in range(draws):
            verdict = verify([guess], lambda _: probs, greedy=False, generator=generator)
            counts[guess if verdict.kept else verdict.following] += 1
        for token, p in enumerate(probs.tolist()):
            assert counts[token] / draws == pytest.approx(p, abs=0.015)


def test_a_greedy_check_keeps_guesses_up_to_the_first_wrong_one() -> None:
    scores = torch.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 1.0], [0.0, 0.0, 9.0]])
    verdict = verify([1, 2, 2], lambda j: scores[j], greedy=True)
    assert (verdict.kept, verdict.following) == (1, 0)  # position 1 wanted 0, not 2
    assert verify([1, 0, 2], lambda j: scores[j], greedy=True).kept == 3


def test_nucleus_probabilities_sum_to_one() -> None:
    probs = token_probs(torch.tensor([[5.0, 4.9, -10.0, -10.0]]), 1.0, 0.5)
    assert float(probs.sum()) == pytest.approx(1.0)
    assert probs[0, 2:].tolist() == [0.0, 0.0]
