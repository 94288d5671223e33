"""Training the sentence reranker (training/sentence_reranker.py) on a real tiny corpus, with a tiny BERT
built here as its base."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import eiffel_questions

from agent.sentence_reranker import SentenceReranker
from training.sentence_reranker import (
    RerankerSettings,
    combined_scores,
    listwise_loss,
    main,
    sample_group,
    train,
)


def test_listwise_loss_is_minus_the_log_of_the_mass_on_the_positives() -> None:
    logits = torch.tensor([2.0, 0.0, 1.0, -1.0])
    mass = (math.exp(2.0) + math.exp(0.0)) / sum(math.exp(v) for v in (2.0, 0.0, 1.0, -1.0))
    assert float(listwise_loss(logits, 2)) == pytest.approx(-math.log(mass), rel=1e-6)
    assert float(listwise_loss(torch.zeros(8), 1)) == pytest.approx(math.log(8), rel=1e-6)


def test_a_group_puts_its_positives_first_and_caps_them() -> None:
    labels = [True] * 6 + [False] * 20
    picked, positives = sample_group(labels, 10, random.Random(0))
    assert positives == 4 and len(picked) == 10 and len(set(picked)) == 10
    assert all(labels[k] for k in picked[:4]) and not any(labels[k] for k in picked[4:])
    picked, positives = sample_group([False, True, False], 16, random.Random(0))
    assert positives == 1 and picked[0] == 1 and sorted(picked) == [0, 1, 2]


def test_combined_scores_use_both_rankings_within_each_page() -> None:
    ranker = np.array([3.0, 2.0, 1.0, -9.0, 0.5])
    reranker = np.array([0.0, 0.0, 5.0, 50.0, 0.0])
    titles = ["A", "A", "A", "A", "B"]
    # top 2 of page A by the ranker (0, 1), the best of page B (4); sentence 3 is under the threshold
    out = combined_scores(ranker, reranker, titles, threshold=-3.0, per_page=2, weight=1.0)
    assert list(np.isfinite(out)) == [True, True, False, False, True]
    assert int(np.argmax(out)) == 0
    # with three per page the reranker lifts sentence 2 over the ranker's first
    out = combined_scores(ranker, reranker, titles, threshold=-3.0, per_page=3, weight=1.0)
    assert int(np.argmax(out)) == 2
    # ignoring the reranker (weight 0) the ranker's order stands
    out = combined_scores(ranker, reranker, titles, threshold=-3.0, per_page=3, weight=0.0)
    assert int(np.argmax(out)) == 0


def _toy_candidates() -> list:
    answering = [
        ("Who designed the Eiffel Tower?", ("Eiffel Tower", "It was designed by Gustave Eiffel's company.")),
        ("How tall is the Eiffel Tower?", ("Eiffel Tower", "It is 330 metres tall.")),
    ]
    others = [("Paris", "Paris is the capital of France."), ("Louvre", "The Louvre is a museum in Paris.")]
    return [(q, [good, *others], [True, False, False]) for q, good in answering]


def test_training_lowers_the_loss_below_chance(tiny_bert_scorer_dir: Path, tmp_path: Path) -> None:
    data = _toy_candidates()
    settings = RerankerSettings(group=3, epochs=30, learning_rate=2e-2, warmup_steps=0, lora_r=4)
    trained = train(data, tiny_bert_scorer_dir, tmp_path / "adapter", settings)
    assert trained["steps"] == 30 and len(trained["losses"]) == 30
    reranker = SentenceReranker.load(tmp_path / "adapter", base=tiny_bert_scorer_dir)
    for question, found, labels in data:
        scores = torch.tensor(reranker.score(question, found))
        assert labels[int(scores.argmax())]
        assert float(listwise_loss(scores, 1)) < math.log(3) / 2


def test_the_command_trains_writes_a_report_and_keeps_its_candidates(
    tiny_corpus, tiny_bert_scorer_dir: Path, tmp_path: Path
) -> None:
    questions = eiffel_questions(tmp_path, 4)
    out, cache = tmp_path / "reranker", tmp_path / "candidates"
    flags = ["--questions", str(questions), "--corpus", tiny_corpus.name, "--split", "all"]
    flags += ["--base", str(tiny_bert_scorer_dir), "--candidates", str(cache), "--output_dir", str(out)]
    with pytest.raises(SystemExit, match="too few to train"):
        main([*flags, "--held_out", "8"])
    (cache / "fit.jsonl").unlink()
    (cache / "held-out.jsonl").unlink()
    assert main([*flags, "--held_out", "2", "--max_steps", "3"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["fit_questions"] == 6 and report["steps"] == 3 and report["positives"] > 0
    assert report["held_out"]["questions"] == 2
    assert set(report["held_out"]) >= {"ranker", "reranker", "combined"}
    assert len(json.loads((out / "losses.json").read_text())) == 3
    kept = [json.loads(line) for line in (cache / "fit.jsonl").read_text().splitlines()]
    assert len(kept) == 6 and all(any(row["labels"]) for row in kept)
    # a second run reads the kept candidates instead of searching again
    (cache / "fit.jsonl").write_text("not json\n")
    with pytest.raises(SystemExit, match="not a candidates file"):
        main([*flags, "--held_out", "2", "--max_steps", "1"])


def test_a_checkpoint_cannot_ask_for_two_rerankers() -> None:
    from agent.config import AgentConfig

    with pytest.raises(ValueError, match="pick one"):
        AgentConfig(sentence_reranker="reranker", lead_confidence=True)
