from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import batch_sizes

from agent.answer import ExtractiveAnswerer, ModelAnswerer
from agent.best_of_n import Candidate, best_of_n, select_best
from agent.models import peft_wrapping
from agent.policies.base import ReplayPolicy
from agent.reward import RewardModel, load_reward_model
from browser_env.memory_web import MemoryWeb
from demonstrations.formats import reward_input

QUESTION = "Who designed the Eiffel Tower?"
SEARCH = "Search Eiffel Tower designed"
QUOTES = [
    "Quote: It is named after the engineer Gustave Eiffel",
    "Quote: The tower was constructed from 1887 to 1889",
    "Quote: It is 330 metres tall",
]


@pytest.fixture(scope="module")
def web(documents) -> MemoryWeb:
    return MemoryWeb(documents)


@pytest.fixture(scope="module")
def reward_model(tiny_rm_dir: Path) -> RewardModel:
    return load_reward_model(str(tiny_rm_dir), dtype="float32")


def replay(quote: str) -> ReplayPolicy:
    return ReplayPolicy([SEARCH, "Clicked on link 0", quote, "End: Answer"])


def test_batched_scores_equal_scores_taken_one_by_one(reward_model: RewardModel, web) -> None:
    class Q:
        title, domain, text = "Eiffel Tower", "example.org", "It is named after the engineer Gustave Eiffel."

    answers = ["Gustave Eiffel [1].", "A much longer answer about the tower and who designed it [1].", "No."]
    batched = reward_model.score(QUESTION, [Q()], answers)
    single = [reward_model.score(QUESTION, [Q()], [a])[0] for a in answers]
    assert batched == pytest.approx(single, abs=1e-4)
    assert len(set(round(s, 4) for s in batched)) == 3
    texts = reward_model.texts(QUESTION, [Q()], answers[:1])
    assert texts == [reward_input(QUESTION, [Q()], answers[0]) + reward_model.loaded.tokenizer.eos_token]


def test_best_of_n_returns_the_highest_scoring_episode(reward_model: RewardModel, web) -> None:
    result = best_of_n(
        QUESTION,
        [replay(q) for q in QUOTES],
        web,
        web,
        n=3,
        reward_model=reward_model,
        answerer=ExtractiveAnswerer(),
    )
    assert len(result.candidates) == 3
    texts = [c.answer.text for c in result.candidates]
    assert len(set(texts)) == 3  # three different episodes, three different answers
    separately = [
        reward_model.score(QUESTION, c.record.quotes, [c.answer.text])[0] for c in result.candidates
    ]
    expected = max(range(3), key=lambda i: separately[i])
    assert result.best is result.candidates[expected]
    assert [c.reward for c in result.candidates] == pytest.approx(separately, abs=1e-4)
    assert [c.record.metadata["chosen"] for c in result.candidates] == [i == expected for i in range(3)]
    assert result.best.record.metadata["rank"] == 1
    assert result.best.record.answer.text == result.best.answer.text
    assert len({c.record.id for c in result.candidates}) == 3


def test_several_answers_per_episode_are_sampled_and_ranked(reward_model, tiny_lm_dir, web) -> None:
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, temperature=1.0, max_new_tokens=12, seed=0)
    result = best_of_n(
        QUESTION,
        [replay(QUOTES[0]), replay(QUOTES[2])],
        web,
        web,
        n=2,
        answers_per_episode=3,
        reward_model=reward_model,
        answerer=answerer,
    )
    assert [(c.episode, c.sample) for c in result.candidates] == [(e, s) for e in range(2) for s in range(3)]
    separately = [
        reward_model.score(QUESTION, c.record.quotes, [c.answer.text])[0] for c in result.candidates
    ]
    assert result.best is result.candidates[max(range(6), key=lambda i: separately[i])]
    assert len({c.record.id for c in result.candidates}) == 6
    assert result.timings.reward > 0


def test_declined_candidates_rank_last_and_ties_go_to_the_first() -> None:
    from agent.answer import Answer

    def candidate(reward: float | None, declined: bool = False) -> Candidate:
        answer = Answer("Q", "text", declined, None, reward=reward)
        return Candidate(0, 0, None, answer, [])  # type: ignore[arg-type]

    declined, low, high, high_again = candidate(None, True), candidate(-5.0), candidate(2.0), candidate(2.0)
    assert select_best([declined, low, high, high_again]) is high
    assert select_best([declined]) is declined


def test_more_than_one_candidate_needs_a_reward_model(web) -> None:
    with pytest.raises(ValueError, match="needs a reward model"):
        best_of_n(QUESTION, replay(QUOTES[0]), web, web, n=2)


def test_a_peft_reward_adapter_loads(tiny_rm_dir: Path, tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification.from_pretrained(tiny_rm_dir, num_labels=1, dtype=torch.float32)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS, r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    with peft_wrapping():
        adapted = get_peft_model(base, config)
    with torch.no_grad():
        adapted.base_model.model.score.modules_to_save["default"].weight.add_(1.0)
    adapted.save_pretrained(tmp_path)
    ids = torch.tensor([[5, 9, 42, 7]])
    with torch.inference_mode():
        expected = float(adapted(input_ids=ids).logits[0, 0])
    loaded = load_reward_model(str(tmp_path), dtype="float32")
    with torch.inference_mode():
        assert float(loaded.loaded.model(input_ids=ids).logits[0, 0]) == pytest.approx(expected, abs=1e-4)


def test_a_policy_that_browses_the_same_way_browses_once_and_samples_every_answer(tiny_corpus) -> None:
    from agent.policies.scripted import ScriptedPolicy

    class Scorer:
        def score_many(self, items):
            return [float(len(answer)) for _, _, answer in items]

    calls: list[int] = []
    result = best_of_n(
        QUESTION,
        ScriptedPolicy(),
        tiny_corpus.search,
        tiny_corpus.fetcher,
        n=3,
        reward_model=Scorer(),  # type: ignore[arg-type]
        on_episode=lambda _: calls.append(1),
    )
    assert len(calls) == 1  # one episode, not three identical ones
    assert [(c.episode, c.sample) for c in result.candidates] == [(0, 0), (0, 1), (0, 2)]
    sampled = ScriptedPolicy(temperature=1.0)
    assert not sampled.deterministic and ScriptedPolicy().deterministic


def test_the_first_answer_to_one_browse_is_the_one_a_single_try_gives(tiny_corpus, tiny_lm_dir: Path) -> None:
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine
    from agent.policies.scripted import ScriptedPolicy

    class Scorer:
        def score_many(self, items):
            return [0.0 for _ in items]

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, temperature=2.0, max_new_tokens=8, seed=0)
    search, fetcher = tiny_corpus.search, tiny_corpus.fetcher
    one = best_of_n(QUESTION, ScriptedPolicy(), search, fetcher, n=1, answerer=answerer)
    many = best_of_n(
        QUESTION,
        ScriptedPolicy(),
        search,
        fetcher,
        n=4,
        reward_model=Scorer(),
        answerer=answerer,  # type: ignore[arg-type]
    )
    texts = [c.answer.text for c in many.candidates]
    assert texts[0] == one.best.answer.text and set(texts[1:]) - {texts[0]}  # the others are samples
    assert many.best is many.candidates[0]  # ties go to the first: the single answer stays
    modes: list[tuple[bool, bool | None]] = []
    write_many = answerer.write_many

    def recording(requests, n=1, *, picking=False, greedy_first=None):  # type: ignore[no-untyped-def]
        modes.append((picking, greedy_first))
        return write_many(requests, n, picking=picking, greedy_first=greedy_first)

    answerer.write_many = recording  # type: ignore[method-assign]
    data = best_of_n(
        QUESTION,
        ScriptedPolicy(),
        search,
        fetcher,
        n=4,
        reward_model=Scorer(),  # type: ignore[arg-type]
        answerer=answerer,
        picking=False,
    )
    # candidates that are data are written without the pick's shortcuts, the greedy answer still first
    assert modes == [(False, True)] and data.candidates[0].answer.text == one.best.answer.text


def test_the_first_of_n_sampled_episodes_is_the_greedy_one(tiny_corpus) -> None:
    from agent.policies.scripted import ScriptedPolicy
    from agent.rollout import run_episode

    class Scorer:
        def score_many(self, items):
            return [0.0 for _ in items]

    greedy = run_episode(QUESTION, ScriptedPolicy(), tiny_corpus.search, tiny_corpus.fetcher)
    sampled = ScriptedPolicy(temperature=5.0, seed=1)
    firsts, others = set(), set()
    for _ in range(3):
        result = best_of_n(
            QUESTION,
            sampled,
            tiny_corpus.search,
            tiny_corpus.fetcher,
            n=4,
            reward_model=Scorer(),  # type: ignore[arg-type]
        )
        assert len({c.episode for c in result.candidates}) == 4
        firsts.add(tuple(result.candidates[0].actions))
        others |= {tuple(c.actions) for c in result.candidates[1:]}
        assert result.best is result.candidates[0]  # ties go to the first: the greedy answer stays
    assert firsts == {tuple(greedy.actions)}
    assert others - firsts  # the other episodes are sampled: some browse differently
    assert sampled.temperature == 5.0  # the twin is a copy


def test_only_policies_with_a_greedy_twin_count_as_sampling_policies() -> None:
    from agent.policies.base import SamplingPolicy
    from agent.policies.scripted import ScriptedPolicy

    assert isinstance(ScriptedPolicy(temperature=0.8), SamplingPolicy)
    assert not isinstance(ReplayPolicy(["End: Answer"]), SamplingPolicy)


def test_the_answers_of_all_episodes_are_written_in_one_batch(tiny_lm_dir: Path, web) -> None:
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, max_new_tokens=8)
    batches = batch_sizes(engine)
    declined = ReplayPolicy([SEARCH, "End: Nonsense"])
    policies = [replay(QUOTES[0]), declined, replay(QUOTES[1]), replay(QUOTES[2])]

    browsed: list[int] = []

    def run(batch_answers: bool):
        class Scorer:
            def score_many(self, items):
                return [float(len(answer)) for _, _, answer in items]

        batches.clear()
        return best_of_n(
            QUESTION,
            [ReplayPolicy(p.commands) for p in policies],
            web,
            web,
            n=4,
            reward_model=Scorer(),  # type: ignore[arg-type]
            answerer=answerer,
            batch_answers=batch_answers,
            on_browsed=browsed.append,
        )

    together = run(True)
    assert batches[0] == 3  # the declined episode writes nothing
    assert browsed == [0, 1, 2, 3]
    one_by_one = run(False)
    assert batches[0] == 1
    assert [c.answer.text for c in together.candidates] == [c.answer.text for c in one_by_one.candidates]
    assert together.candidates[1].answer.declined
    assert [c.record.metadata["episode"] for c in together.candidates] == [0, 1, 2, 3]
    shares = [c.record.metadata["timings"]["answer"] for c in together.candidates]
    assert shares[1] == 0 and shares[0] == shares[2] == shares[3] > 0  # the batch's time, shared


def test_episodes_that_quote_the_same_passages_are_answered_and_scored_once(tiny_lm_dir: Path, web) -> None:
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, max_new_tokens=8)
    prompts_written = batch_sizes(engine)
    scored: list[str] = []

    class Scorer:
        def score_many(self, items):
            scored.extend(answer for _, _, answer in items)
            return [float(len(answer)) for _, _, answer in items]

    result = best_of_n(
        QUESTION,
        [replay(QUOTES[0]), replay(QUOTES[1]), replay(QUOTES[0]), replay(QUOTES[0])],
        web,
        web,
        n=4,
        reward_model=Scorer(),  # type: ignore[arg-type]
        answerer=answerer,
    )
    assert prompts_written[0] == 2  # two distinct sets of quotes: two prompts, not four
    assert len(scored) == 2  # and two distinct inputs to score
    texts = [c.answer.text for c in result.candidates]
    assert texts[0] == texts[2] == texts[3]
    rewards = [c.reward for c in result.candidates]
    assert rewards == [float(len(t)) for t in texts]  # every candidate has its input's score
