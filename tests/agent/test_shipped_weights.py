"""The trained weights shipped in ``agent/weights/``: small, in the formats the agent loads, the default."""

from __future__ import annotations

import json

import pytest

from agent.config import AgentConfig
from agent.models import (
    DEFAULT_MODEL_ID,
    SHIPPED_GUIDED_ID,
    SHIPPED_POLICY_ID,
    SHIPPED_REWARD_ID,
    resolve_checkpoint,
    shipped_weights,
)


@pytest.mark.parametrize("model_id", [SHIPPED_POLICY_ID, SHIPPED_GUIDED_ID, SHIPPED_REWARD_ID])
def test_shipped_adapters_are_small_bf16_and_name_the_default_base(model_id: str) -> None:
    import torch
    from safetensors.torch import load_file

    folder = shipped_weights(model_id)
    assert resolve_checkpoint(model_id) == str(folder)
    weights = folder / "adapter_model.safetensors"
    assert weights.stat().st_size < 12 * 2**20
    tensors = load_file(str(weights))
    assert tensors and {t.dtype for t in tensors.values()} == {torch.bfloat16}
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == DEFAULT_MODEL_ID  # portable: no local path
    assert (folder.parent / "README.md").is_file()  # the card


def test_the_shipped_policy_says_how_it_was_trained() -> None:
    settings = AgentConfig.from_checkpoint(shipped_weights(SHIPPED_POLICY_ID))
    assert settings.mode == "scheduled" and settings.prompt_format == "plain" and settings.few_shot is False
    assert settings.max_prompt_tokens == 512 and settings.attribute is False
    guided = AgentConfig.from_checkpoint(shipped_weights(SHIPPED_GUIDED_ID))
    assert guided.mode == "guided" and guided.prompt_format == "plain" and guided.clause_words == 30
    assert guided.guided_skim is True and guided.guided_compare_pages == 3  # three pages read, then a quote
    assert guided.answer_model == f"../{SHIPPED_POLICY_ID}"  # the BC policy writes its answers


@pytest.mark.slow
def test_the_default_agent_is_the_shipped_policy(default_model_dir) -> None:
    from agent.policies import load_agent
    from agent.policies.lm import LMPolicy
    from agent.sentence_ranker import SentenceRanker

    scheduled = load_agent(mode="scheduled", seed=0)  # the fixed plan, on request
    assert scheduled.mode == "scheduled" and scheduled.policy.name == SHIPPED_POLICY_ID
    assert isinstance(scheduled.policy.scorer, SentenceRanker) and scheduled.policy.config.skim
    assert scheduled.policy.config.target_quotes == 1 and scheduled.policy.deterministic
    assert scheduled.answerer.prompt_format == "plain" and scheduled.answerer.max_new_tokens == 96
    guided = load_agent(seed=0)  # by default the trained policy chooses its own commands
    assert guided.mode == "guided" and isinstance(guided.policy, LMPolicy) and guided.policy.skim
    assert guided.policy.compare_pages == 3 and guided.policy.deterministic
    assert isinstance(guided.policy.quote_scorer, SentenceRanker)
    assert guided.policy.name == SHIPPED_GUIDED_ID  # its twin trained on to browse
    assert guided.answerer.name == SHIPPED_POLICY_ID  # answers as the BC policy does
    assert load_agent(SHIPPED_GUIDED_ID, seed=0).mode == "guided"  # its own default
    assert guided.policy.prompter.max_prompt_tokens == 512


@pytest.mark.slow
def test_a_checkpoint_can_ask_for_the_likelihood_reader(default_model_dir, tmp_path) -> None:
    import json
    import shutil

    from agent.policies import load_agent
    from agent.policies.scripted import QuestionLikelihood

    checkpoint = tmp_path / "policy"
    shutil.copytree(shipped_weights(SHIPPED_POLICY_ID), checkpoint)
    settings = json.loads((checkpoint / "webgpt.json").read_text(encoding="utf-8"))
    (checkpoint / "webgpt.json").write_text(json.dumps(settings | {"reader": "likelihood"}), encoding="utf-8")
    agent = load_agent(str(checkpoint), seed=0)
    assert isinstance(agent.policy.scorer, QuestionLikelihood) and not agent.policy.config.skim
    (checkpoint / "webgpt.json").write_text(json.dumps(settings | {"reader": "glance"}), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown reader 'glance': use ranker or likelihood"):
        load_agent(str(checkpoint), seed=0)


@pytest.mark.slow
def test_a_checkpoint_can_ask_to_quote_the_best_sentence_of_three_pages(default_model_dir, tmp_path) -> None:
    import json
    import shutil

    from agent.policies import load_agent

    checkpoint = tmp_path / "policy"
    shutil.copytree(shipped_weights(SHIPPED_POLICY_ID), checkpoint)
    settings = json.loads((checkpoint / "webgpt.json").read_text(encoding="utf-8"))
    (checkpoint / "webgpt.json").write_text(json.dumps(settings | {"quoted_pages": 3}), encoding="utf-8")
    agent = load_agent(str(checkpoint), seed=0)
    assert agent.policy.config.target_quotes == 3 and agent.policy.config.pages_to_read == 3
    assert agent.policy.config.skim and agent.policy.deterministic
