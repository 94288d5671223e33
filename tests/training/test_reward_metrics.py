"""The reward model's loss (ties as soft labels, margins) and every evaluation metric, on hand-built
inputs whose values were worked out by hand. Run: .venv/bin/pytest tests/training/test_reward_metrics.py"""

from __future__ import annotations

import math

import pytest
import torch

from training.rm_metrics import (
    length_baseline_accuracy,
    pair_loss_value,
    pair_metrics,
    pairwise_loss,
    preference_accuracy,
    similar_length,
    tie_loss,
)

LOG2 = math.log(2.0)


def loss(c: float, r: float, p: float, m: float = 0.0) -> float:
    values = pairwise_loss(torch.tensor([c]), torch.tensor([r]), torch.tensor([p]), torch.tensor([m]))
    return float(values[0])


def test_hand_computed_values() -> None:
    # p = 1, d = 0: -log(sigmoid(0)) = log 2
    assert loss(0.0, 0.0, 1.0) == pytest.approx(LOG2)
    # p = 1, d = 2: log(1 + e^-2)
    assert loss(3.0, 1.0, 1.0) == pytest.approx(math.log1p(math.exp(-2.0)))
    # p = 1, d = -1: log(1 + e^1)
    assert loss(0.0, 1.0, 1.0) == pytest.approx(math.log1p(math.e))
    # p = 0.5, d = 2: 0.5 log(1 + e^-2) + 0.5 log(1 + e^2)
    assert loss(2.0, 0.0, 0.5) == pytest.approx(
        0.5 * math.log1p(math.exp(-2)) + 0.5 * math.log1p(math.exp(2))
    )
    # p = 0 (the rejected column is better), d = 1: log(1 + e^1)
    assert loss(1.0, 0.0, 0.0) == pytest.approx(math.log1p(math.e))


def test_margin_applies_to_preferences_only() -> None:
    # p = 1, d = 1, m = 1: -log(sigmoid(0)) = log 2 (TRL's margin loss)
    assert loss(1.0, 0.0, 1.0, m=1.0) == pytest.approx(LOG2)
    # p = 1, d = 0, m = 2: log(1 + e^2)
    assert loss(0.0, 0.0, 1.0, m=2.0) == pytest.approx(math.log1p(math.exp(2.0)))
    # a tie ignores its margin
    assert loss(0.7, -0.2, 0.5, m=5.0) == pytest.approx(loss(0.7, -0.2, 0.5, m=0.0))
    assert loss(0.0, 0.0, 0.5, m=3.0) == pytest.approx(LOG2)


def test_tie_is_minimised_at_equal_rewards() -> None:
    diffs = [x / 10 for x in range(-30, 31)]
    values = [loss(d, 0.0, 0.5) for d in diffs]
    assert diffs[values.index(min(values))] == 0.0
    assert min(values) == pytest.approx(LOG2)
    assert loss(1.5, 0.0, 0.5) == pytest.approx(loss(-1.5, 0.0, 0.5))  # symmetric
    # whereas a preference keeps falling as the chosen answer pulls ahead
    assert loss(2.0, 0.0, 1.0) < loss(1.0, 0.0, 1.0) < loss(0.0, 0.0, 1.0)


def test_gradient_directions() -> None:
    def grads(c: float, r: float, p: float) -> tuple[float, float]:
        chosen = torch.tensor([c], requires_grad=True)
        rejected = torch.tensor([r], requires_grad=True)
        pairwise_loss(chosen, rejected, torch.tensor([p])).sum().backward()
        return float(chosen.grad[0]), float(rejected.grad[0])

    g_chosen, g_rejected = grads(0.0, 0.0, 1.0)  # a preference pushes chosen up, rejected down
    assert g_chosen == pytest.approx(-0.5) and g_rejected == pytest.approx(0.5)
    g_chosen, g_rejected = grads(1.0, -1.0, 0.5)  # a tie pulls the two together: dL/dd = sigmoid(d) - p
    assert g_chosen == pytest.approx(1 / (1 + math.exp(-2.0)) - 0.5) and g_rejected == pytest.approx(
        -g_chosen
    )
    g_chosen, _ = grads(1.0, -1.0, 1.0)
    assert g_chosen == pytest.approx(1 / (1 + math.exp(-2.0)) - 1.0)
    g_chosen, g_rejected = grads(0.0, 0.0, 0.5)  # and is at rest when they are equal
    assert g_chosen == pytest.approx(0.0, abs=1e-7) and g_rejected == pytest.approx(0.0, abs=1e-7)


def test_tensor_loss_matches_the_float_version() -> None:
    cases = [(0.3, -1.2, 1.0, 0.0), (2.0, 2.5, 1.0, 1.0), (-0.4, 0.9, 0.5, 1.0), (40.0, -40.0, 0.5, 0.0)]
    for c, r, p, m in cases:
        assert loss(c, r, p, m) == pytest.approx(pair_loss_value(c, r, p, m), rel=1e-5)
    assert math.isfinite(pair_loss_value(-100.0, 100.0, 1.0))


def test_accuracy_counts_non_ties_and_halves_equal_scores() -> None:
    chosen = [1.0, 0.0, 2.0, 5.0, 3.0]
    rejected = [0.0, 1.0, 2.0, -5.0, 1.0]
    labels = [1.0, 1.0, 1.0, 0.5, 0.0]  # right, wrong, equal (half), tie (left out), p=0 but c > r: wrong
    assert preference_accuracy(chosen, rejected, labels) == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert math.isnan(preference_accuracy([1.0], [0.0], [0.5]))


def test_length_baseline_and_similar_length() -> None:
    assert length_baseline_accuracy([10, 5, 7], [3, 9, 7], [1.0, 1.0, 1.0]) == pytest.approx(0.5)
    assert similar_length(100, 80, 0.2)  # 20 / 100
    assert not similar_length(100, 79, 0.2)
    assert similar_length(0, 0, 0.2)
    assert not similar_length(0, 1, 0.2)


def test_tie_loss_is_the_mean_over_ties() -> None:
    assert tie_loss([0.0, 1.0, 9.0], [0.0, 3.0, 0.0], [0.5, 0.5, 1.0]) == pytest.approx(
        (LOG2 + pair_loss_value(1.0, 3.0, 0.5)) / 2
    )
    assert math.isnan(tie_loss([1.0], [0.0], [1.0]))


def test_pair_metrics_by_hand() -> None:
    # pair 0: right, lengths 100/90 (similar), longer is chosen
    # pair 1: wrong, lengths 100/20 (not similar), longer is chosen
    # pair 2: right, lengths 50/55 (similar), longer is rejected
    # pair 3: tie, rewards equal
    metrics = pair_metrics(
        chosen=[2.0, -1.0, 0.5, 0.0],
        rejected=[1.0, 1.0, 0.0, 0.0],
        labels=[1.0, 1.0, 1.0, 0.5],
        len_chosen=[100, 100, 50, 10],
        len_rejected=[90, 20, 55, 10],
        similar_length_ratio=0.2,
        sources=["human", "automatic", "human", "human"],
    )
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["accuracy_similar_length"] == pytest.approx(1.0)
    assert metrics["length_baseline_accuracy"] == pytest.approx(2 / 3)
    assert metrics["length_baseline_accuracy_similar_length"] == pytest.approx(0.5)
    assert metrics["tie_loss"] == pytest.approx(LOG2)
    assert metrics["pairs"] == 3 and metrics["pairs_similar_length"] == 2 and metrics["ties"] == 1
    assert metrics["accuracy_human"] == pytest.approx(1.0)
    assert metrics["accuracy_automatic"] == pytest.approx(0.0)
