"""Probabilities of several fitted members averaged into one: the one place that turns members'
validation log-loss into weights (skeleton modalities, the `auto` ensemble, fused clip motions) and
scores validation probabilities, so every fit strategy and `evaluation.metrics` compute log-loss
alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.metrics import log_loss


def validation_log_loss(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> float:
    """Log-loss of `proba` `[N, C]` for int labels `y_true` `[N]`, probabilities clipped at 1e-7
    and renormalised (a hard 0 would make one sample's loss infinite)."""
    clipped = np.clip(np.asarray(proba, dtype=np.float64), 1e-7, 1.0)
    labels = np.arange(n_classes)
    return float(log_loss(np.asarray(y_true, dtype=np.int64), clipped / clipped.sum(1, keepdims=True), labels=labels))


def validation_scores(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    """`{"val_loss", "val_acc"}` of validation probabilities, the names a fit's history uses."""
    return {
        "val_loss": validation_log_loss(y_true, proba, n_classes),
        "val_acc": float(np.mean(np.asarray(proba).argmax(1) == np.asarray(y_true))),
    }


@dataclass
class Averaged:
    """Members' weights (summing to 1), their validation log-losses (empty without validation
    samples) and the weighted average of their validation probabilities (None without)."""

    weights: np.ndarray
    losses: list[float]
    proba: np.ndarray | None


def inverse_loss_average(probas: Sequence[np.ndarray], y_true: np.ndarray, n_classes: int) -> Averaged:
    """Weights inversely proportional to each member's validation log-loss, and the weighted
    average of their validation probabilities `[N, C]` float32; equal weights when there are no
    validation samples. A better calibrated member counts more, and no member is dropped."""
    if not len(y_true):
        return Averaged(np.full(len(probas), 1.0 / len(probas)), [], None)
    losses = [validation_log_loss(y_true, proba, n_classes) for proba in probas]
    weights = np.array([1.0 / max(loss, 1e-6) for loss in losses])
    weights /= weights.sum()
    average = sum(weight * proba for weight, proba in zip(weights, probas))
    return Averaged(weights, losses, np.asarray(average).astype(np.float32))


class Predicts(Protocol):
    """A fitted member (a sequence or clip recognizer) that gives probabilities `[N, C]`."""

    def predict_proba(self, data: Any, /) -> np.ndarray: ...


def validation_probas(members: Sequence[Predicts], validation: Any, n_classes: int) -> list[np.ndarray]:
    """Each member's probabilities `[N, C]` on the validation samples (`validation.n_samples`
    of them); empty `[0, C]` arrays when there are none, which `inverse_loss_average` weighs
    equally."""
    if not validation.n_samples:
        return [np.zeros((0, n_classes), np.float32) for _ in members]
    return [member.predict_proba(validation) for member in members]


def weights_text(names: Sequence[str], averaged: Averaged) -> str:
    """The weights as a note says them: `joint 0.55 (val log-loss 0.412), bone 0.45 (...)`, or
    `equal (no validation samples)`."""
    if not averaged.losses:
        return "equal (no validation samples)"
    return ", ".join(
        f"{name} {weight:.2f} (val log-loss {loss:.3f})"
        for name, weight, loss in zip(names, averaged.weights, averaged.losses)
    )
