"""A checkpoint that names a sentence reranker (agent/sentence_reranker.py) skims with it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agent.sentence_reranker import SentenceReranker, base_path
from training.sentence_reranker import RerankerSettings, train

TOY = [
    (
        "Who designed the Eiffel Tower?",
        [("Eiffel Tower", "Gustave Eiffel's company designed it."), ("Paris", "Paris is in France.")],
        [True, False],
    )
]


@pytest.mark.slow
def test_a_checkpoint_naming_a_reranker_skims_with_it(default_model_dir, tmp_path: Path) -> None:
    import shutil

    from agent.models import SHIPPED_POLICY_ID, shipped_weights
    from agent.policies import RERANK_SCHEDULE, load_agent

    checkpoint = tmp_path / "policy"
    shutil.copytree(shipped_weights(SHIPPED_POLICY_ID), checkpoint)
    train(TOY, base_path(), checkpoint / "reranker", RerankerSettings(group=2, max_steps=1))
    settings = json.loads((checkpoint / "webgpt.json").read_text(encoding="utf-8"))
    reranking = settings | {"sentence_reranker": "reranker", "corroboration": False}  # one second say
    (checkpoint / "webgpt.json").write_text(json.dumps(reranking))
    agent = load_agent(str(checkpoint), seed=0)
    assert isinstance(agent.policy.reranker, SentenceReranker)
    assert agent.policy.config.rerank_per_page == RERANK_SCHEDULE.rerank_per_page == 8
    scores = agent.policy.reranker.score("Who designed it?", [("Eiffel Tower", "Gustave Eiffel did.")] * 2)
    assert len(scores) == 2 and scores[0] == scores[1] and math.isfinite(scores[0])
