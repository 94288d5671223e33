from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agent.models import load_causal_lm
from agent.policies.engine import LMEngine, device_generator, penalize_repetition, sample_tokens

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


@pytest.fixture(scope="module", params=DEVICES)
def engine(request: pytest.FixtureRequest, tiny_lm_dir: Path) -> LMEngine:
    return LMEngine(load_causal_lm(str(tiny_lm_dir), device=request.param, dtype="float32"))


def reference_logprobs(engine: LMEngine, context: list[int], continuation: list[int]) -> list[float]:
    ids = torch.tensor([context + continuation], device=engine.model.device)
    with torch.inference_mode():
        logits = engine.model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return [float(logprobs[len(context) - 1 + j, token]) for j, token in enumerate(continuation)]


def test_scores_with_a_cached_prefix_match_a_full_forward(engine: LMEngine) -> None:
    prompt = engine.encode("♦Question\nWho designed the Eiffel Tower?\n♦Next action\n")
    continuations = [engine.encode(t) for t in ["Search Eiffel", "Top", "Clicked on link 3", "Q"]]
    prefill = engine.prefill(prompt, prefix_length=10)
    prefill_again = engine.prefill(prompt, prefix_length=10)  # from the prefix cache
    for got in (
        engine.score(prefill, continuations, batch_size=3),
        engine.score(prefill_again, continuations),
    ):
        for continuation, row in zip(continuations, got, strict=True):
            assert row == pytest.approx(reference_logprobs(engine, prompt, continuation), abs=1e-4)


def test_score_target_matches_a_full_forward(engine: LMEngine) -> None:
    target = engine.encode(" Who designed it?")
    contexts = [
        engine.encode("Article: Eiffel\nIt is tall."),
        engine.encode("x"),
        engine.encode("Paris " * 9),
    ]
    got = engine.score_target(contexts, target, batch_size=2)
    for context, value in zip(contexts, got, strict=True):
        assert value == pytest.approx(sum(reference_logprobs(engine, context, target)), abs=1e-3)


def test_score_tokens_scores_targets_of_different_lengths(engine: LMEngine) -> None:
    contexts = [engine.encode(text) for text in ("Article: Eiffel\nIt is tall.", "Paris " * 9, "x")]
    targets = [engine.encode(" Gustave Eiffel"), engine.encode(" France"), engine.encode(" a b c d e f")]
    got = engine.score_tokens(contexts, targets, batch_size=2)
    for context, target, row in zip(contexts, targets, got, strict=True):
        assert row == pytest.approx(reference_logprobs(engine, context, target), abs=1e-3)
    with pytest.raises(ValueError, match="2 contexts for 1 targets"):
        engine.score_tokens(contexts[:2], targets[:1])


def test_greedy_generation_matches_transformers_generate(engine: LMEngine) -> None:
    prompt = engine.encode("The Eiffel Tower is")
    ours = engine.generate(
        engine.prefill(prompt), n=2, max_new_tokens=12, temperature=0, stop_at_newline=False
    )
    with torch.inference_mode():
        theirs = engine.model.generate(
            torch.tensor([prompt], device=engine.model.device),
            max_new_tokens=12,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=0,
        )[0, len(prompt) :].tolist()
    stops = engine.stop_ids()
    expected = []
    for token in theirs:
        if token in stops:
            break
        expected.append(token)
    assert ours[0] == ours[1] == expected


def test_generation_stops_after_a_newline_and_counts_tokens(engine: LMEngine) -> None:
    generator = engine.new_generator(0)
    assert generator.device == engine.model.device
    before = engine.stats.generated_tokens
    outputs = engine.generate(
        engine.prefill(engine.encode("a")), n=4, max_new_tokens=30, temperature=1.5, generator=generator
    )
    for output in outputs:
        text = engine.decode(output)
        assert "\n" not in text[:-1]  # only ever as the last character
        assert len(output) <= 30
    assert engine.stats.generated_tokens - before == sum(len(o) for o in outputs)


def test_seeded_sampling_repeats_and_is_unchanged_on_the_cpu(engine: LMEngine) -> None:
    prefill = engine.prefill(engine.encode("The Eiffel Tower is"))

    def sample(generator: torch.Generator) -> list[list[int]]:
        return engine.generate(
            prefill, n=4, max_new_tokens=10, temperature=1.0, stop_at_newline=False, generator=generator
        )

    first = sample(engine.new_generator(7))
    assert first == sample(engine.new_generator(7))
    assert len({tuple(row) for row in first}) > 1  # really sampled, not greedy
    if engine.model.device.type == "cpu":  # a seed gives the tokens a plain seeded CPU generator gives
        assert first == sample(torch.Generator().manual_seed(7))


@pytest.mark.parametrize("device", DEVICES)
def test_top_p_keeps_only_the_nucleus(device: str) -> None:
    logits = torch.tensor([[5.0, 4.9, -10.0, -10.0]], device=device)
    generator = device_generator(device, 0)
    draws = {int(sample_tokens(logits, 1.0, 0.5, generator)) for _ in range(50)}
    assert draws <= {0, 1}
    assert int(sample_tokens(logits, 0.0, 1.0)) == 0


@pytest.mark.parametrize("device", DEVICES)
def test_device_generators_are_seeded_like_torch_generators(device: str) -> None:
    logits = torch.randn(3, 40, generator=torch.Generator().manual_seed(1)).to(device)
    one = [sample_tokens(logits, 1.0, 0.9, device_generator(device, 5)).tolist() for _ in range(2)]
    seeded = torch.Generator(device=device).manual_seed(5)
    assert one[0] == one[1] == sample_tokens(logits, 1.0, 0.9, seeded).tolist()
    unseeded = sample_tokens(logits, 1.0, 0.9, device_generator(device)).tolist()
    assert unseeded == sample_tokens(logits, 1.0, 0.9, torch.Generator(device=device)).tolist()


@CUDA
def test_a_cpu_generator_still_samples_cuda_logits() -> None:
    logits = torch.randn(4, 50, generator=torch.Generator().manual_seed(2))
    expected = sample_tokens(logits, 1.0, 1.0, torch.Generator().manual_seed(3))
    got = sample_tokens(logits.to("cuda"), 1.0, 1.0, torch.Generator().manual_seed(3))
    assert got.device.type == "cuda"
    assert got.cpu().tolist() == expected.tolist()


@pytest.mark.parametrize("device", DEVICES)
def test_repetition_penalty_lowers_only_tokens_already_generated(device: str) -> None:
    logits = torch.tensor([[2.0, -1.0, 2.0, 0.5], [2.0, -1.0, 2.0, 0.5]], device=device)
    penalized = penalize_repetition(logits, [[0, 1, 0], []], 2.0)
    assert penalized[0].tolist() == [1.0, -2.0, 2.0, 0.5]
    assert penalized[1].tolist() == logits[1].tolist()
    assert sample_tokens(penalized, 0.0, 1.0).tolist() == [2, 0]
    assert logits[0, 0] == 2.0  # the input is left as it was


def test_a_batch_of_prompts_of_different_lengths_decodes_as_each_prompt_alone(engine: LMEngine) -> None:
    prompts = [
        engine.encode("The Eiffel Tower is"),
        engine.encode("Paris"),
        engine.encode("Who designed the Eiffel Tower? It was designed by"),
    ]
    alone = [
        engine.generate(engine.prefill(p), max_new_tokens=10, temperature=0, stop_at_newline=False)[0]
        for p in prompts
    ]
    before = engine.stats.prompt_tokens
    batched = engine.generate_batch(prompts, n=2, max_new_tokens=10, temperature=0, stop_at_newline=False)
    assert engine.stats.prompt_tokens - before == sum(len(p) for p in prompts)  # each prompt once
    assert [rows[0] for rows in batched] == alone
    assert [rows[1] for rows in batched] == alone
    assert all(rows[0] for rows in batched)


def test_a_batch_samples_n_rows_per_prompt_and_refuses_an_empty_prompt(engine: LMEngine) -> None:
    prompts = [engine.encode("a b"), engine.encode("c")]
    batched = engine.generate_batch(
        prompts, n=3, max_new_tokens=8, temperature=1.5, generator=engine.new_generator(0)
    )
    assert [len(rows) for rows in batched] == [3, 3]
    assert len({tuple(row) for rows in batched for row in rows}) > 1
    with pytest.raises(ValueError, match="empty prompt"):
        engine.generate_batch([engine.encode("a"), []])


@pytest.mark.parametrize("draft_tokens", [0, 4])
def test_greedy_first_decodes_each_prompts_first_row_as_one_greedy_answer(
    engine: LMEngine, draft_tokens: int
) -> None:
    prompts = [engine.encode("The Eiffel Tower is the tower"), engine.encode("Paris Paris Paris")]
    options = {"max_new_tokens": 10, "stop_at_newline": False, "draft_tokens": draft_tokens}
    greedy = engine.generate_batch(prompts, temperature=0, **options)
    mixed = engine.generate_batch(
        prompts, n=4, temperature=2.0, generator=engine.new_generator(0), greedy_first=True, **options
    )
    assert [rows[0] for rows in mixed] == [rows[0] for rows in greedy]
    assert any(row != rows[0] for rows in mixed for row in rows[1:])  # the others are samples
    sampled = engine.generate_batch(
        prompts, n=4, temperature=2.0, generator=engine.new_generator(0), **options
    )
    assert [rows[0] for rows in sampled] != [rows[0] for rows in greedy]


def test_a_batch_sharing_a_cached_prefix_decodes_as_without_it(engine: LMEngine) -> None:
    prefix = engine.encode("You browse the web. Commands: Search, Quote, Back.\n")
    prompts = [prefix + engine.encode(t) for t in ("Who designed the tower?", "Paris", "a b c a b")]
    plain = engine.generate_batch(prompts, n=2, max_new_tokens=10, temperature=0, stop_at_newline=False)
    before = engine.stats.prompt_tokens
    cached = engine.generate_batch(
        prompts, n=2, max_new_tokens=10, temperature=0, stop_at_newline=False, prefix_length=len(prefix)
    )
    again = engine.generate_batch(
        prompts, n=2, max_new_tokens=10, temperature=0, stop_at_newline=False, prefix_length=len(prefix)
    )
    assert cached == again == plain
    # the prefix once for the first call (then cached), each prompt's rest every time
    rests = sum(len(p) - len(prefix) for p in prompts)
    assert engine.stats.prompt_tokens - before in (2 * rests, len(prefix) + 2 * rests)
    different = [engine.encode("x y"), *prompts[1:]]  # no shared prefix: processed whole
    assert engine.generate_batch(
        different, max_new_tokens=5, temperature=0, prefix_length=len(prefix)
    ) == engine.generate_batch(different, max_new_tokens=5, temperature=0)


def test_a_batch_row_never_starts_with_a_token_it_must_avoid(engine: LMEngine) -> None:
    prompts = [engine.encode("The Eiffel Tower is"), engine.encode("Paris")]
    plain = engine.generate_batch(prompts, max_new_tokens=6, temperature=0, stop_at_newline=False)
    first = plain[1][0][0]
    avoided = engine.generate_batch(
        prompts, max_new_tokens=6, temperature=0, stop_at_newline=False, avoid_first=[set(), {first}]
    )
    assert avoided[0] == plain[0]  # a prompt with nothing to avoid decodes as before
    assert avoided[1][0][0] != first
    sampled = engine.generate_batch(
        prompts[1:],
        n=4,
        max_new_tokens=2,
        temperature=2.0,
        generator=engine.new_generator(0),
        avoid_first=[{first}],
    )
    assert all(row[0] != first for row in sampled[0])
