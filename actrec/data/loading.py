"""Any `--data` spec -> one SequenceDataset: io reads the file's arrays, this module builds the dataset.

io's readers return `SequenceArrays` (raw labels, the file's declared label order); here labels
become indexes (in a training set's order when given), a `.npy`'s class numbers get their names and
its groups file is attached, so io never imports this layer.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.data.labels import encode_labels
from actrec.errors import DataError
from actrec.io.arrays import SequenceArrays

LOADERS = {".npz": "npz", ".npy": "npy", ".csv": "long CSV", ".ts": "UEA/UCR .ts"}


def load_dataset(
    spec: str | Path,
    labels: str | Path | None = None,
    label_last: bool = False,
    label_names: Sequence[str] | None = None,
    groups: str | Path | None = None,
    class_names: Sequence[str] | None = None,
) -> SequenceDataset:
    """Read `spec` with the reader its extension names (.npz, .npy, .csv, .ts).

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
    # Readers are imported here, not at the top: .npz users never pay for pandas/pyarrow.
    if suffix == ".npy":
        return _npy_dataset(path, label_last, label_names, groups, class_names)
    if suffix == ".npz":
        from actrec.io.npz import read_npz

        arrays = read_npz(path)
    elif suffix == ".csv":
        from actrec.io.long_csv import read_long_csv

        arrays = read_long_csv(path, labels=labels)
    else:
        from actrec.io.ts import read_ts

        arrays = read_ts(path)
    y, names = _encoded(arrays, label_names)
    return _dataset(arrays, y, names, arrays.groups)


def load_for_prediction(
    spec: str | Path,
    window: int,
    stride: int,
    label_last: bool = False,
    class_names: Sequence[str] | None = None,
) -> SequenceDataset:
    """Data to predict, labelled or not: keypoint recordings (one recording `.npz`, or a folder of
    them) are cut into `window`-frame windows every `stride` frames (`segments.unlabelled_windows`);
    any other `--data` spec is read by `load_dataset`. Labels a file carries are kept under its own
    names, never checked against the training labels (a window labelled `unknown` is new data
    too); `label_last` and `class_names` read a `.npy` as for training."""
    from actrec.data.segments import unlabelled_windows
    from actrec.io.recording import is_recording_file

    path = Path(spec)
    if path.is_dir() or is_recording_file(path):
        return unlabelled_windows(path, window, stride)
    return load_dataset(path, label_last=label_last, class_names=class_names)


def _encoded(arrays: SequenceArrays, label_names: Sequence[str] | None) -> tuple[np.ndarray | None, list[str]]:
    """The raw labels as indexes into `label_names` (default: the file's own order, else sorted)."""
    if arrays.labels is None:
        return None, []
    order = label_names if label_names is not None else arrays.label_order
    ids = arrays.ids if arrays.ids is not None else [str(i) for i in range(len(arrays.labels))]
    return encode_labels(arrays.labels, arrays.labels_source or arrays.source, ids, order)


def _dataset(arrays: SequenceArrays, y: np.ndarray | None, names: list[str], groups: np.ndarray | None) -> SequenceDataset:
    return SequenceDataset(
        X=arrays.X,
        lengths=arrays.lengths,
        y=y,
        label_names=names,
        groups=groups,
        ids=arrays.ids,
        feature_names=arrays.feature_names,
        sample_rate_hz=arrays.sample_rate_hz,
        schema=arrays.schema,
        meta=arrays.meta,
        source=arrays.source,
    )


def _npy_dataset(
    path: Path,
    label_last: bool,
    label_names: Sequence[str] | None,
    groups: str | Path | None,
    class_names: Sequence[str] | None,
) -> SequenceDataset:
    """A `.npy`'s windows with their class names and groups file, both given beside the array."""
    from actrec.io.npy import read_npy

    arrays = read_npy(path, label_last=label_last)
    if class_names and not label_last:
        raise DataError(f"{arrays.source}: --label-names names the classes of the label column; add --label-last")
    if class_names:
        arrays = replace(arrays, labels=_named_classes(arrays.labels, class_names, arrays.source))
        label_names = label_names or list(class_names)
    y, names = _encoded(arrays, label_names)
    group_ids = None if groups is None else _read_groups(groups, arrays.X.shape[0], arrays.source)
    return _dataset(arrays, y, names, group_ids)


def _read_groups(path: str | Path, n_samples: int, data_source: str) -> np.ndarray:
    """`[N]` group ids from a text file (one per line) or a 1-D `.npy`; the count must match."""
    from actrec.io.npy import read_group_ids

    group_ids = read_group_ids(path)
    if group_ids.shape[0] != n_samples:
        raise DataError(f"{path}: {group_ids.shape[0]} group ids for the {n_samples} windows of {data_source}; give one per window, in order")
    return group_ids


def _named_classes(raw: np.ndarray, class_names: Sequence[str], source: str) -> np.ndarray:
    """Class numbers `[N]` -> their names; a number outside 0..K-1 is an error naming the sample."""
    numbers = np.asarray(raw, dtype=np.float64)
    bad = np.flatnonzero((numbers != np.round(numbers)) | (numbers < 0) | (numbers >= len(class_names)))
    if bad.size:
        raise DataError(
            f"{source}: sample {bad[0]} has class {raw[bad[0]]:g} but --label-names gives {len(class_names)} names "
            f"(classes 0..{len(class_names) - 1}); give one name per class number, in order"
        )
    return np.asarray(list(class_names), dtype=object)[numbers.astype(np.int64)]
