"""The prediction file: `id` (then a window's `start_time`, `end_time` when the samples are windows
of recordings), `pred`, `confidence`, then one probability column per class; or, as a submission,
`id` and the class columns only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from actrec.io.atomic import atomic_path


def predictions_table(
    ids: np.ndarray | Sequence[str],
    proba: np.ndarray,
    label_names: list[str],
    where: Mapping[str, np.ndarray] | None = None,
    submission: bool = False,
) -> pd.DataFrame:
    """Columns are named by class in label order. where: per-sample columns placed after `id` (a
    window's start and end in its recording). submission: only `id` and the class columns, the
    layout competitions ask for."""
    if submission:
        return pd.concat([pd.DataFrame({"id": ids}), pd.DataFrame(proba, columns=label_names)], axis=1)
    table = pd.DataFrame(
        {
            "id": ids,
            **dict(where or {}),
            "pred": np.asarray(label_names, dtype=object)[proba.argmax(1)],
            "confidence": proba.max(1),
        }
    )
    return pd.concat([table, pd.DataFrame(proba, columns=label_names)], axis=1)


def write_predictions(
    path: str | Path,
    ids: np.ndarray,
    proba: np.ndarray,
    label_names: list[str],
    where: Mapping[str, np.ndarray] | None = None,
    submission: bool = False,
) -> None:
    table = predictions_table(ids, proba, label_names, where, submission)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
