"""Turn raw labels (strings or class numbers) into `y` indexes plus `label_names`, one way for all loaders.

Every loader ends here so that a test set read with the training `label_names` gets the same
indexes, and an unseen label fails at the door instead of as a wrong prediction later.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actrec.errors import DataError
from actrec.io.labels import label_strings


def sorted_label_names(labels: np.ndarray) -> list[str]:
    """Unique labels, numerically sorted when all are numbers (so "10" follows "9"), else by text."""
    unique = sorted(set(labels.tolist()))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


def encode_labels(
    raw: np.ndarray,
    source: str,
    ids: Sequence[str] | np.ndarray,
    label_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Map `[N]` raw labels to int64 indexes into `label_names` (sorted unique labels if not given).

    Passing the training set's `label_names` for a test set keeps the order; a label outside them
    raises a DataError naming the sample.
    """
    labels = label_strings(raw, source, ids)
    names = sorted_label_names(labels) if label_names is None else [str(n) for n in label_names]
    lookup = {name: index for index, name in enumerate(names)}
    unknown = [i for i, label in enumerate(labels) if label not in lookup]
    if unknown:
        first = unknown[0]
        raise DataError(
            f"{source}: sample {ids[first]} has label '{labels[first]}', not among the {len(names)} "
            f"training labels ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}); "
            "drop those samples or retrain with them"
        )
    y = np.fromiter((lookup[label] for label in labels), dtype=np.int64, count=len(labels))
    return y, names


IMBALANCE_RATIO = 5.0  # the most common class over the rarest, from which a fit says so


def imbalance_notes(y: np.ndarray, label_names: Sequence[str]) -> list[str]:
    """One line when the training classes are far from balanced (`IMBALANCE_RATIO`), for a fit
    that weighs every sample the same: top-1 then favours the common classes, and a user who
    needs a rare one (a fall among hours of walking) should hear about the two remedies."""
    counts = np.bincount(np.asarray(y), minlength=len(label_names))
    present = np.flatnonzero(counts)
    if len(present) < 2:
        return []
    rarest, commonest = present[np.argmin(counts[present])], present[np.argmax(counts[present])]
    if counts[commonest] < IMBALANCE_RATIO * counts[rarest]:
        return []
    return [
        f"classes are imbalanced: {counts[commonest]} training samples of '{label_names[commonest]}' against "
        f"{counts[rarest]} of '{label_names[rarest]}'; every sample weighs the same, so top-1 favours the common "
        "classes; --class-weight balanced (or --sampler balanced) weighs a rare class up when its recall matters more"
    ]
