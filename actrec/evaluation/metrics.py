"""Classification metrics from predicted probabilities, via scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support, top_k_accuracy_score

from actrec.training.averaging import validation_log_loss


def compute_metrics(y_true: np.ndarray, proba: np.ndarray, label_names: list[str]) -> dict[str, Any]:
    """top1, top5, macro_f1, log_loss, n, per-class precision/recall/f1/support and the confusion matrix.

    y_true: int `[N]`; proba: float `[N, C]` rows summing to 1. top5 is top-k with k = min(5, C).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    labels = np.arange(len(label_names))
    pred = proba.argmax(1)
    k = min(5, len(label_names))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, pred, labels=labels, zero_division=0)
    return {
        "top1": float(np.mean(pred == y_true)),
        # with C <= 5 classes the true class is always among the top C: top-5 is 1 by definition
        "top5": float(top_k_accuracy_score(y_true, proba, k=k, labels=labels)) if len(labels) > k else 1.0,
        # over the classes that occur (true or predicted): a class absent from a small split would
        # otherwise count as F1 = 0 and drag the mean down for nothing the model did
        "macro_f1": float(f1_score(y_true, pred, labels=np.union1d(y_true, pred), average="macro", zero_division=0)),
        "log_loss": validation_log_loss(y_true, proba, len(label_names)),
        "n": int(len(y_true)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion": confusion_matrix(y_true, pred, labels=labels).tolist(),
    }


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The four numbers and n that `metrics.json` and tables show."""
    return {key: metrics[key] for key in ("top1", "top5", "macro_f1", "log_loss", "n")}


def near_chance_note(metrics: dict[str, Any], split: str = "test") -> str | None:
    """A sentence when top-1 is barely above what guessing gets, else None.

    Guessing means the larger of 1/C and always naming the split's most common class; "barely" is
    within 15% of the way from there to a perfect score (top-1 0.30 on 3 balanced classes is).
    """
    support = np.array([row["support"] for row in metrics["per_class"].values()], dtype=np.float64)
    if support.sum() == 0:
        return None
    chance = max(1.0 / len(support), support.max() / support.sum())
    if metrics["top1"] >= chance + 0.15 * (1.0 - chance):
        return None
    return (
        f"{split} top-1 {metrics['top1']:.2f} is near chance ({chance:.2f} for {len(support)} classes): "
        "the model learned little; train more epochs (--epochs), or check that labels match the samples"
    )
