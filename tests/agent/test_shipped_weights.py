"""The trained weights shipped in ``agent/weights/``: small, in the formats the agent loads, the default."""

from __future__ import annotations

import json

import pytest

from agent.config import AgentConfig
from agent.models import (
    DEFAULT_MODEL_ID,
    SHIPPED_POLICY_ID,
    SHIPPED_REWARD_ID,
    resolve_checkpoint,
    shipped_weights,
)


@pytest.mark.parametrize("model_id", [SHIPPED_POLICY_ID, SHIPPED_REWARD_ID])
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


@pytest.mark.slow
def test_the_default_agent_is_the_shipped_policy(default_model_dir) -> None:
    from agent.policies import load_agent
    from agent.policies.lm import LMPolicy

    agent = load_agent(seed=0)
    assert agent.mode == "scheduled" and agent.policy.name == SHIPPED_POLICY_ID
    assert agent.answerer.prompt_format == "plain" and agent.answerer.max_new_tokens == 96
    guided = load_agent(mode="guided", seed=0)  # the trained policy choosing its own commands
    assert isinstance(guided.policy, LMPolicy) and guided.policy.guided
    assert guided.policy.prompter.max_prompt_tokens == 512
