"""Readers and writers. `load_dataset` turns any `--data` spec into one SequenceDataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from actrec.errors import DataError

if TYPE_CHECKING:
    from actrec.data.dataset import SequenceDataset

LOADERS = {".npz": "npz", ".npy": "npy", ".csv": "long CSV", ".ts": "UEA/UCR .ts"}


def load_dataset(
    spec: str | Path,
    labels: str | Path | None = None,
    label_last: bool = False,
    label_names: Sequence[str] | None = None,
    groups: str | Path | None = None,
    class_names: Sequence[str] | None = None,
) -> "SequenceDataset":
    """Read `spec` with the loader its extension names (.npz, .npy, .csv, .ts).

    labels: labels.csv for a long CSV (`id,label[,group,...]`); without it the CSV is unlabelled.
    label_last: a .npy's last feature column holds the label.
    label_names: a training set's label order, so a test set gets the same indexes; a label outside
        it raises a DataError naming the sample.
    groups: for a .npy, a file of group ids (one per window, e.g. the video), see `io.npy`.
    class_names: for a .npy, the names of its class numbers 0..K-1.
    """
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix not in LOADERS:
        known = ", ".join(LOADERS)
        raise DataError(f"{path}: unknown data format '{suffix or path.name}'; use one of {known}")
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the --data path")
    if labels is not None and suffix != ".csv":
        raise DataError(f"{path}: --labels goes with a long CSV; {LOADERS[suffix]} files carry their own labels")
    if label_last and suffix != ".npy":
        raise DataError(f"{path}: --label-last goes with a .npy file, not {LOADERS[suffix]}")
    if (groups is not None or class_names) and suffix != ".npy":
        raise DataError(f"{path}: --groups and --label-names go with a .npy file; {LOADERS[suffix]} files carry their own groups and labels")
    # Loaders are imported here, not at the top: `actrec.io.atomic` (imported by the dataset module
    # itself) stays free of the dataset import, and .npz users never pay for pandas/pyarrow.
    if suffix == ".npz":
        from actrec.io.npz import load_npz

        return load_npz(path, label_names=label_names)
    if suffix == ".npy":
        from actrec.io.npy import load_npy

        return load_npy(path, label_last=label_last, label_names=label_names, groups=groups, class_names=class_names)
    if suffix == ".csv":
        from actrec.io.long_csv import load_long_csv

        return load_long_csv(path, labels=labels, label_names=label_names)
    from actrec.io.ts import load_ts

    return load_ts(path, label_names=label_names)
