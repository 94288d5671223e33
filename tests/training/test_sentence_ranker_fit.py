"""Fitting the sentence ranker (training/sentence_ranker.py) on a real tiny corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tiny_models import eiffel_questions, fit_without_output

from agent.sentence_ranker import FEATURES, SHIPPED_RANKER, SentenceRanker
from training.sentence_ranker import fit, hits, listwise_objective, main


def test_hits_count_questions_whose_top_k_holds_a_positive() -> None:
    scores = [np.array([0.9, 0.5, 0.1]), np.array([0.2, 0.8])]
    labels = [[False, False, True], [True, False]]
    assert hits(scores, labels, 1) == 0
    assert hits(scores, labels, 2) == 1
    assert hits(scores, labels, 3) == 2


def test_fit_learns_the_sign_of_a_telling_feature() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    x[::20, FEATURES.index("wanted_kind")] = 2.0  # every question of 20 sentences has a positive
    y = x[:, FEATURES.index("wanted_kind")] > 0.3
    ranker = fit(x, y, np.full(20, 20))
    weights = dict(zip(FEATURES, ranker.weights, strict=True))
    assert weights["wanted_kind"] > 1.0
    assert all(abs(w) < weights["wanted_kind"] / 4 for name, w in weights.items() if name != "wanted_kind")


def test_the_listwise_objective_and_its_gradient_match_a_hand_computation() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    y = np.array([True, False, True, False, True])
    sizes = np.array([3, 2])
    weights = np.array([0.5, -1.0])
    loss, gradient = listwise_objective(weights, x, y, sizes, l2=0.1)
    # question 1: scores 0.5, -1, -0.5, positives 0 and 2; question 2: scores 1, 0, positive 1
    first = math.log(math.exp(0.5) + math.exp(-1) + math.exp(-0.5)) - math.log(math.exp(0.5) + math.exp(-0.5))
    second = math.log(math.exp(1) + 1) - 0.0
    assert loss == pytest.approx((first + second) / 2 + 0.1 * 1.25)
    step = 1e-6
    for k in range(2):
        moved = weights.copy()
        moved[k] += step
        numeric = (listwise_objective(moved, x, y, sizes, 0.1)[0] - loss) / step
        assert gradient[k] == pytest.approx(numeric, abs=1e-4)


def test_fit_ranks_within_a_question_where_a_classifier_would_not() -> None:
    """A feature that tells questions with many positives from those with few, but nothing within a
    question, sways a classifier; the listwise fit ranks by what separates sentences of one question."""
    rng = np.random.default_rng(1)
    rows, labels = [], []
    for question in range(60):
        busy = question % 2 == 0
        answer = rng.integers(10)
        for k in range(10):
            positive = k == answer or (busy and k < 6)
            rows.append([float(busy) + rng.normal(0, 0.1), float(positive) * 0.5 + rng.normal(0, 0.3)])
            labels.append(positive)
    x = np.hstack([np.array(rows), np.zeros((600, len(FEATURES) - 2))])
    ranker = fit(x, np.array(labels), np.full(60, 10))
    assert (
        ranker.weights[1] > 1.0 and abs(ranker.weights[0]) < ranker.weights[1] / 4
    )  # a classifier: 1.4 vs 2.3
    share = np.mean([1 / (1 + math.exp(-ranker.log_odds(list(row)))) for row in x])
    assert share == pytest.approx(np.mean(labels), abs=0.03)  # the score reads as log-odds


def test_fit_refuses_a_question_without_a_positive() -> None:
    x = np.zeros((4, len(FEATURES)))
    with pytest.raises(ValueError, match="at least one positive"):
        fit(x, np.array([True, False, False, False]), np.array([2, 2]))


def test_the_command_fits_and_writes_a_ranker_that_loads(tiny_corpus, tmp_path: Path) -> None:
    questions = eiffel_questions(tmp_path, 8)
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


def test_the_command_leaves_the_shipped_ranker_alone_unless_told(
    tiny_corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    written = fit_without_output(main, SHIPPED_RANKER, tiny_corpus.name, tmp_path) / "sentence-ranker.json"
    assert SentenceRanker.load(written).weights != SentenceRanker.load(SHIPPED_RANKER).weights
    assert "--ranker runs/sentence-ranker.json" in capsys.readouterr().out
