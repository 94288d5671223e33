from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import batch_sizes

from agent.best_of_n import best_of_n
from agent.models import load_causal_lm
from agent.policies.base import ReplayPolicy
from agent.policies.engine import LMEngine
from agent.policies.lm import LMPolicy, SamplingConfig
from agent.rollout import StepEvent, act_together, browse, browse_in_lockstep
from browser_env.env import EnvConfig
from browser_env.memory_web import MemoryWeb

QUESTION = "Who designed the Eiffel Tower?"
CONFIG = EnvConfig(max_actions=4)


@pytest.fixture(scope="module")
def web(documents) -> MemoryWeb:
    return MemoryWeb(documents)


@pytest.fixture
def engine(tiny_lm_dir: Path) -> LMEngine:
    return LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))


def free(engine: LMEngine, temperature: float) -> LMPolicy:
    return LMPolicy(
        engine, sampling=SamplingConfig(temperature=temperature, max_new_tokens=12, max_retries=0)
    )


def test_episodes_in_lockstep_take_the_steps_each_takes_alone(engine: LMEngine, web) -> None:
    policy = free(engine, 0.0)
    alone = browse(QUESTION, policy, web, web, config=CONFIG)
    sizes = batch_sizes(engine)
    events: list[StepEvent] = []
    together = browse_in_lockstep(
        QUESTION,
        [policy, policy.episode_copy(), policy.episode_copy()],
        web,
        web,
        config=CONFIG,
        on_step=events.append,
    )
    expected = [step.command for step in alone.steps]
    assert len(expected) == 4
    assert [[step.command for step in b.steps] for b in together] == [expected] * 3
    assert sizes == [3] * 4  # one call per step for all three episodes
    assert [e.episode for e in events[:3]] == [0, 1, 2]  # stepped in turn, a step at a time
    assert all(b.timings.total > 0 and b.timings.policy > 0 for b in together)


def test_policies_step_together_only_with_those_that_sample_alike(engine: LMEngine, web) -> None:
    sampled = free(engine, 1.0)
    policies = [free(engine, 0.0), sampled, sampled.episode_copy(), ReplayPolicy(["Top"])]
    for policy in policies:
        policy.reset(QUESTION)
    sizes = batch_sizes(engine)
    observation = "♦Question\nWho designed the Eiffel Tower?\n♦Next action\n"
    commands = act_together(policies, [observation] * 4, [{}] * 4)
    assert sizes == [2]  # the two samplers in one call; the greedy one and the replay alone
    assert commands[3] == "Top"
    assert all(isinstance(c, str) for c in commands)


def test_lockstep_needs_an_object_per_episode(engine: LMEngine, web) -> None:
    policy = free(engine, 0.0)
    with pytest.raises(ValueError, match="its own policy object"):
        browse_in_lockstep(QUESTION, [policy, policy], web, web, config=CONFIG)


def test_best_of_n_browses_sampled_free_episodes_in_lockstep(engine: LMEngine, web) -> None:
    class Scorer:
        def score_many(self, items):
            return [0.0 for _ in items]

    policy = free(engine, 1.0)
    greedy = browse(QUESTION, policy.greedy(), web, web, config=CONFIG)
    sizes = batch_sizes(engine)
    result = best_of_n(
        QUESTION,
        policy,
        web,
        web,
        n=4,
        config=CONFIG,
        reward_model=Scorer(),  # type: ignore[arg-type]
        lockstep=True,  # the default only on a GPU
    )
    assert [c.episode for c in result.candidates] == [0, 1, 2, 3]
    assert result.candidates[0].actions == [step.command for step in greedy.steps]  # the greedy twin first
    assert sizes and set(sizes) == {3}  # the three sampled episodes together, the greedy one alone


def test_lockstep_is_the_default_only_on_a_gpu(engine: LMEngine, web) -> None:
    class Scorer:
        def score_many(self, items):
            return [0.0 for _ in items]

    sizes = batch_sizes(engine)
    policy = free(engine, 1.0)
    best_of_n(QUESTION, policy, web, web, n=3, config=CONFIG, reward_model=Scorer())  # type: ignore[arg-type]
    assert engine.model.device.type == "cpu"
    assert sizes == []  # one episode after another
