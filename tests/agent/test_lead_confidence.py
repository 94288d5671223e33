"""How sure the answer model is of the answer a sentence gives (agent/lead_confidence.py)."""

from __future__ import annotations

import pytest

from agent.corroboration import Corroboration
from agent.lead_confidence import UNSURE, LeadConfidence
from demonstrations.schemas import QuoteRecord

QUESTION = "who wrote the novel moby dick"
PASSAGES = [
    ("Moby-Dick", "Moby-Dick; or, The Whale is an 1851 novel by American writer Herman Melville."),
    ("Moby-Dick", "The book is sailor Ishmael's narrative of the quest of Ahab, captain of the ship Pequod."),
    ("Whaling", "Whaling is the hunting of whales for their usable products such as meat and blubber."),
]


@pytest.mark.slow
def test_the_score_is_the_least_likely_token_of_the_lead_the_answer_model_writes(default_model_dir) -> None:
    """In fp32 (batch shapes change bf16 rounding), against one prompt at a time: the greedy answer's
    tokens before its first citation, scored from the prompt's cache."""
    from agent.answer import ModelAnswerer
    from agent.models import SHIPPED_POLICY_ID, load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(SHIPPED_POLICY_ID, dtype="float32"))
    answerer = ModelAnswerer(engine, prompt_format="plain", max_new_tokens=96)
    scores = LeadConfidence(answerer).score(QUESTION, PASSAGES)
    assert len(scores) == 3 and all(UNSURE <= s <= 0 for s in scores)
    assert LeadConfidence(answerer).score(QUESTION, []) == []
    for (title, text), score in zip(PASSAGES, scores, strict=True):
        prompt = engine.prefill(
            answerer.prompt_ids(QUESTION, [QuoteRecord(url="", title=title, domain="", text=text)])
        )
        (tokens,) = engine.generate(
            prompt, max_new_tokens=14, temperature=0.0, stop_at_newline=False, repetition_penalty=1.1
        )
        cut = next(k for k in range(len(tokens)) if "[" in engine.decode(tokens[: k + 1]))
        assert score == pytest.approx(min(engine.score(prompt, [tokens[:cut]])[0]), abs=1e-3)


@pytest.mark.slow
def test_a_checkpoint_can_ask_to_weigh_leads(default_model_dir, tmp_path) -> None:
    import json
    import shutil

    from agent.models import SHIPPED_POLICY_ID, shipped_weights
    from agent.policies import load_agent

    default = load_agent(mode="scheduled", seed=0)  # reads three results, quotes the ranker's best of them
    assert isinstance(default.policy.reranker, Corroboration)  # after the search's other results' say
    assert default.policy.config.pages_to_read == 3
    checkpoint = tmp_path / "policy"
    shutil.copytree(shipped_weights(SHIPPED_POLICY_ID), checkpoint)
    settings = json.loads((checkpoint / "webgpt.json").read_text(encoding="utf-8"))
    weighing = json.dumps(settings | {"lead_confidence": True, "corroboration": False})
    (checkpoint / "webgpt.json").write_text(weighing, encoding="utf-8")
    agent = load_agent(str(checkpoint), seed=0)
    assert isinstance(agent.policy.reranker, LeadConfidence)
    assert agent.policy.reranker.answerer is agent.answerer
    assert agent.policy.config.pages_to_read == 3 and agent.policy.config.rerank_weight == 0.25
