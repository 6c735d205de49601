"""What the sequence readers return: the arrays a file holds, before any dataset is built.

Readers (`npz`, `npy`, `long_csv`, `ts`) check the file and hand back a `SequenceArrays`; turning
it into a `SequenceDataset` (label indexes, class names, group files) is `actrec.data.loading`'s
job, so io never imports the layers above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from actrec.errors import DataError


@dataclass(frozen=True)
class SequenceArrays:
    """One file's sequences as read.

    X: `[N, T, F]` or `[N, T, J, C]` numbers as stored (padded past `lengths`).
    lengths: int64 `[N]` valid steps per sample.
    labels: `[N]` raw labels as the file holds them (names or class numbers; `.npz` and long CSV
        labels already checked as text by `labels.label_strings`), None if unlabelled.
    label_order: the label names the file declares, in order (a `.ts` `@classLabel` line, a `.npz`
        `label_names`), or None when it declares none.
    labels_source: the file the labels came from (labels.csv for a long CSV), quoted in label errors.
    groups, ids: `[N]` per-sample strings, or None. feature_names: one per feature of `[N, T, F]`.
    sample_rate_hz: steps per second when the file says. schema: the skeleton schema's name or
        `.yaml` path as stored (paths made absolute against the file's folder, see `schema_path`).
    meta: per-sample `[N]` arrays. source: the file read, quoted in messages.
    notes: what the reader decided from the file's layout, for the user to see (groups taken from a
        `subject` column).
    label_descriptions: raw label -> class name, from a labels file's `label_desc` column, in the
        labels' order (numeric when they are numbers); None without one.
    """

    X: np.ndarray
    lengths: np.ndarray
    source: str
    labels: np.ndarray | None = None
    label_order: list[str] | None = None
    labels_source: str | None = None
    groups: np.ndarray | None = None
    ids: np.ndarray | None = None
    feature_names: list[str] | None = None
    sample_rate_hz: float | None = None
    schema: str | None = None
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    label_descriptions: dict[str, str] | None = None


def pad_sequences(
    sequences: Sequence[np.ndarray], source: str = "<memory>", ids: Sequence[str] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Stack ragged `[T_i, ...]` arrays into a zero-padded `[N, max T, ...]` array and lengths."""
    if len(sequences) == 0:
        raise DataError(f"{source}: no sequences")
    tails = {np.shape(s)[1:] for s in sequences}
    if len(tails) != 1:
        raise DataError(
            f"{source}: sequences have different per-step shapes {sorted(tails)}; all steps need the same features"
        )
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        name = ids[empty[0]] if ids is not None else empty[0]
        raise DataError(f"{source}: sample {name} is empty (0 steps); remove it or give it data")
    out = np.zeros((len(sequences), int(lengths.max()), *tails.pop()), dtype=np.float32)
    for i, seq in enumerate(sequences):
        out[i, : lengths[i]] = seq
    return out, lengths
