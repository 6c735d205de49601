"""The prediction file: `id` (then a window's `start_time`, `end_time` when the samples are windows
of recordings), `pred`, `confidence`, then one probability column per class; or the columns a
user names (`--columns`), e.g. a competition's `id,<classes>` (`--submission`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from actrec.errors import ConfigError, DataError
from actrec.io.atomic import atomic_path

CLASSES = "<classes>"  # in `columns`: every class column, in label order
SUBMISSION = ("id", CLASSES)  # a competition's sample_submission layout
WHERE_COLUMNS = ("start_time", "end_time", "time")  # only for windows or frames of recordings


def chosen_columns(columns: Sequence[str], label_names: Sequence[str]) -> list[str]:
    """`columns` with `<classes>` expanded to the class names; a name that no prediction file has
    is a ConfigError listing those it can have (checked before anything is predicted)."""
    known = ["id", *WHERE_COLUMNS, "pred", "confidence", *label_names]
    chosen = [name for column in columns for name in (label_names if column == CLASSES else [column])]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise ConfigError(
            f"--columns: no column '{unknown[0]}'; choose from {', '.join(known)} or {CLASSES} (every class)"
        )
    return chosen


def predictions_table(
    ids: np.ndarray | Sequence[str],
    proba: np.ndarray,
    label_names: list[str],
    where: Mapping[str, np.ndarray] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns are named by class in label order. where: per-sample columns placed after `id` (a
    window's start and end in its recording). columns: only these, in this order (`<classes>`:
    every class column), e.g. `SUBMISSION`."""
    table = pd.DataFrame(
        {
            "id": ids,
            **dict(where or {}),
            "pred": np.asarray(label_names, dtype=object)[proba.argmax(1)],
            "confidence": proba.max(1),
        }
    )
    table = pd.concat([table, pd.DataFrame(proba, columns=label_names)], axis=1)
    if columns is None:
        return table
    chosen = chosen_columns(columns, label_names)
    missing = [name for name in chosen if name not in table.columns]
    if missing:
        raise DataError(
            f"--columns {missing[0]}: these samples are not windows of a recording, so they have no "
            f"'{missing[0]}'; drop it from --columns"
        )
    return table[chosen]


def write_predictions(
    path: str | Path,
    ids: np.ndarray,
    proba: np.ndarray,
    label_names: list[str],
    where: Mapping[str, np.ndarray] | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    table = predictions_table(ids, proba, label_names, where, columns)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
