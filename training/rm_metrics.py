"""The reward model's loss and evaluation metrics, as plain functions of rewards and labels.

The loss is WebGPT's cross-entropy on comparisons with a tie as a soft 50% label. With ``d = r_c - r_r``
(reward of the chosen answer minus that of the rejected one), ``p`` the probability that the chosen
answer is better (1.0; 0.5 for a tie) and ``m`` a margin::

    loss = -(p * logsigmoid(d - m') + (1 - p) * logsigmoid(-d - m')),   m' = m * |2p - 1|

so a preference (``p = 1``) is TRL's margin loss ``-logsigmoid(d - m)`` and a tie (``p = 0.5``) ignores
the margin and is minimised at ``d = 0``. The metrics (``pair_metrics``) are what every evaluation logs:
accuracy on non-tie pairs, the same on pairs of similar length, the "longer answer wins" baseline on
both, and the mean loss on ties.

    from training.rm_metrics import pair_metrics
    pair_metrics(chosen=[1.0, 0.2], rejected=[0.0, 0.4], labels=[1.0, 1.0], len_chosen=[10, 5],
                 len_rejected=[9, 50])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def pairwise_loss(chosen: Any, rejected: Any, labels: Any, margins: Any | None = None) -> Any:
    """Per-pair loss (a torch tensor, one value per pair; see the module docstring)."""
    import torch
    import torch.nn.functional as F

    labels = labels.to(chosen.dtype)
    margins = torch.zeros_like(chosen) if margins is None else margins.to(chosen.dtype)
    effective = margins * (2 * labels - 1).abs()
    diff = chosen - rejected
    return -(labels * F.logsigmoid(diff - effective) + (1 - labels) * F.logsigmoid(-diff - effective))


def pair_loss_value(chosen: float, rejected: float, label: float, margin: float = 0.0) -> float:
    """The same loss for one pair, in plain floats (numerically stable)."""
    effective = margin * abs(2 * label - 1)
    diff = chosen - rejected
    return -(label * _logsigmoid(diff - effective) + (1 - label) * _logsigmoid(-diff - effective))


def _logsigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def is_tie(label: float) -> bool:
    """A soft label (neither 0 nor 1): the two answers are equally good."""
    return 0.0 < label < 1.0


def preference_accuracy(chosen: Sequence[float], rejected: Sequence[float], labels: Sequence[float]) -> float:
    """Share of non-tie pairs where the preferred answer scores higher (an equal score counts half).
    A label of 0 means the rejected column holds the better answer. NaN when there are no such pairs."""
    outcomes = [
        _outcome(c - r if label >= 1 else r - c)
        for c, r, label in zip(chosen, rejected, labels, strict=True)
        if not is_tie(label)
    ]
    return float(np.mean(outcomes)) if outcomes else math.nan


def length_baseline_accuracy(
    len_chosen: Sequence[float], len_rejected: Sequence[float], labels: Sequence[float]
) -> float:
    """The same accuracy for the rule "the longer answer wins" (equal lengths count half)."""
    return preference_accuracy(len_chosen, len_rejected, labels)


def similar_length(len_chosen: float, len_rejected: float, ratio: float) -> bool:
    """``|len_c - len_r| / max(len_c, len_r) <= ratio`` (two empty answers are similar)."""
    longest = max(len_chosen, len_rejected)
    return longest == 0 or abs(len_chosen - len_rejected) / longest <= ratio


def tie_loss(chosen: Sequence[float], rejected: Sequence[float], labels: Sequence[float]) -> float:
    """Mean loss over the tie pairs (log 2 when the model scores both answers equally); NaN without ties."""
    triples = zip(chosen, rejected, labels, strict=True)
    losses = [pair_loss_value(c, r, label) for c, r, label in triples if is_tie(label)]
    return float(np.mean(losses)) if losses else math.nan


def pair_metrics(
    chosen: Sequence[float],
    rejected: Sequence[float],
    labels: Sequence[float],
    len_chosen: Sequence[float],
    len_rejected: Sequence[float],
    *,
    similar_length_ratio: float = 0.2,
    sources: Sequence[str] | None = None,
) -> dict[str, float]:
    """Every evaluation metric, by name (NaN where a set is empty; counts as floats).

    ``accuracy`` / ``length_baseline_accuracy``: non-tie pairs; ``*_similar_length``: those whose answer
    lengths differ by at most ``similar_length_ratio`` of the longer; ``tie_loss``: mean loss on ties;
    with ``sources``, ``accuracy_<source>`` for each source as well."""
    lengths = zip(len_chosen, len_rejected, strict=True)
    similar = [similar_length(a, b, similar_length_ratio) for a, b in lengths]

    def subset(values: Sequence[float], keep: Sequence[bool]) -> list[float]:
        return [v for v, k in zip(values, keep, strict=True) if k]

    ties = sum(is_tie(label) for label in labels)
    out = {
        "accuracy": preference_accuracy(chosen, rejected, labels),
        "accuracy_similar_length": preference_accuracy(
            subset(chosen, similar), subset(rejected, similar), subset(labels, similar)
        ),
        "length_baseline_accuracy": length_baseline_accuracy(len_chosen, len_rejected, labels),
        "length_baseline_accuracy_similar_length": length_baseline_accuracy(
            subset(len_chosen, similar), subset(len_rejected, similar), subset(labels, similar)
        ),
        "tie_loss": tie_loss(chosen, rejected, labels),
        "pairs": float(len(labels) - ties),
        "pairs_similar_length": float(sum(s and not is_tie(x) for s, x in zip(similar, labels, strict=True))),
        "ties": float(ties),
    }
    if sources is not None:
        for source in sorted(set(sources)):
            keep = [s == source for s in sources]
            out[f"accuracy_{source}"] = preference_accuracy(
                subset(chosen, keep), subset(rejected, keep), subset(labels, keep)
            )
    return out


def _outcome(diff: float) -> float:
    return 1.0 if diff > 0 else 0.5 if diff == 0 else 0.0
