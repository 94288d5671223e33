"""Fitting the sentence ranker (training/sentence_ranker.py) on a real tiny corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from agent.sentence_ranker import FEATURES, SentenceRanker
from training.sentence_ranker import fit, hits, main


def test_hits_count_questions_whose_top_k_holds_a_positive() -> None:
    scores = [np.array([0.9, 0.5, 0.1]), np.array([0.2, 0.8])]
    labels = [[False, False, True], [True, False]]
    assert hits(scores, labels, 1) == 0
    assert hits(scores, labels, 2) == 1
    assert hits(scores, labels, 3) == 2


def test_fit_learns_the_sign_of_a_telling_feature() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    y = x[:, FEATURES.index("wanted_kind")] > 0.3
    ranker = fit(x, y)
    weights = dict(zip(FEATURES, ranker.weights, strict=True))
    assert weights["wanted_kind"] > 1.0
    assert all(abs(w) < 0.5 for name, w in weights.items() if name != "wanted_kind")


def test_the_command_fits_and_writes_a_ranker_that_loads(tiny_corpus, tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"question": "Who designed the Eiffel Tower?", "answer": ["Gustave Eiffel"]},
        {"question": "How tall is the Eiffel Tower?", "answer": ["330"]},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows * 8), encoding="utf-8")
    output = tmp_path / "ranker.json"
    flags = ["--questions", str(questions), "--corpus", tiny_corpus.name, "--split", "all"]
    with pytest.raises(SystemExit, match="too few to fit"):
        main([*flags, "--held_out", "16", "--output", str(output)])
    assert main([*flags, "--held_out", "2", "--output", str(output)]) == 0
    ranker = SentenceRanker.load(output)
    report = json.loads(output.with_suffix(".report.json").read_text())
    assert report["fit_questions"] == 14 and report["positives"] > 0
    assert report["held_out"]["questions"] == 2
    assert set(report["held_out"]["ranker"]) == {"hit@1", "hit@3"}
    (score,) = ranker.score(
        "Who designed the Eiffel Tower?", [("Eiffel Tower", "It was designed by Gustave Eiffel.")]
    )
    assert math.isfinite(score)
