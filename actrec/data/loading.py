"""Any `--data` spec -> one SequenceDataset: io reads the file's arrays, this module builds the dataset.

io's readers return `SequenceArrays` (raw labels, the file's declared label order); here labels
become indexes (in a training set's order when given), a `.npy`'s class numbers get their names and
its groups file is attached, so io never imports this layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.data.keypoint_sources import FrameModel
from actrec.data.labels import encode_labels
from actrec.errors import DataError
from actrec.io.array_folder import is_array_folder
from actrec.io.array_limits import ArrayLimits
from actrec.io.arrays import SequenceArrays

LOADERS = {".npz": "npz", ".npy": "npy", ".csv": "long CSV", ".ts": "UEA/UCR .ts"}


def load_dataset(
    spec: str | Path,
    labels: str | Path | None = None,
    label_last: bool = False,
    label_names: Sequence[str] | None = None,
    groups: str | Path | None = None,
    class_names: Sequence[str] | None = None,
    group_column: str | None = None,
    limits: ArrayLimits | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
) -> SequenceDataset:
    """Read `spec` with the reader its extension names (.npz, .npy, .csv, .ts), or an array
    folder (`io/array_folder.py`: X memory-mapped, read in chunks by whoever uses it).

    labels: labels.csv for a long CSV (`id,label[,group,...]`); without it the CSV is unlabelled.
    group_column: the labels.csv column holding groups (default: group, subject, session, video
        or recording, the first found).
    label_column, id_column: the labels.csv columns holding the label and the id (default: label, id).
    label_last: a .npy's last feature column holds the label.
    label_names: a training set's label order, so a test set gets the same indexes; a label outside
        it raises a DataError naming the sample.
    groups: for a .npy, a file of group ids (one per window, e.g. the video), see `io.npy`.
    class_names: for a .npy, the names of its class numbers 0..K-1.
    limits: what a .npy / .npz header may declare (default `ArrayLimits.default()`); the server
        passes its own, so a request cannot make it allocate or inflate more.
    """
    path = Path(spec)
    suffix = path.suffix.lower()
    columns = {
        flag: name
        for flag, name in (
            ("--group-column", group_column),
            ("--label-column", label_column),
            ("--id-column", id_column),
        )
        if name is not None
    }
    if is_array_folder(path):
        if labels is not None or label_last or groups is not None or class_names or columns:
            raise DataError(
                f"{path}: an array folder carries its own labels and groups in samples.npz; drop --labels, --label-last, --groups, --label-names and the --*-column flags"
            )
        from actrec.io.array_folder import read_array_folder

        arrays, notes = _described(read_array_folder(path, limits), label_names)
        y, names = _encoded(arrays, label_names)
        return _dataset(replace(arrays, notes=(*arrays.notes, *notes)), y, names, arrays.groups)
    if suffix not in LOADERS:
        known = ", ".join(LOADERS)
        raise DataError(f"{path}: unknown data format '{suffix or path.name}'; use one of {known}")
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the --data path")
    if labels is not None and suffix != ".csv":
        raise DataError(f"{path}: --labels goes with a long CSV; {LOADERS[suffix]} files carry their own labels")
    if label_last and suffix != ".npy":
        raise DataError(f"{path}: --label-last goes with a .npy file, not {LOADERS[suffix]}")
    if columns and labels is None:
        raise DataError(f"{path}: {next(iter(columns))} names a column of the --labels file; give --labels too")
    if (groups is not None or class_names) and suffix != ".npy":
        raise DataError(
            f"{path}: --groups and --label-names go with a .npy file; {LOADERS[suffix]} files carry their own groups and labels"
        )
    # Readers are imported here, not at the top: .npz users never pay for pandas/pyarrow.
    if suffix == ".npy":
        return _npy_dataset(path, label_last, label_names, groups, class_names, limits)
    if suffix == ".npz":
        from actrec.io.npz import read_npz

        arrays = read_npz(path, limits)
    elif suffix == ".csv":
        from actrec.io.long_csv import read_long_csv

        arrays = read_long_csv(path, labels, group_column, label_column, id_column)
    else:
        from actrec.io.ts import read_ts

        arrays = read_ts(path)
    arrays, notes = _described(arrays, label_names)
    y, names = _encoded(arrays, label_names)
    return _dataset(replace(arrays, notes=(*arrays.notes, *notes)), y, names, arrays.groups)


def _described(arrays: SequenceArrays, label_names: Sequence[str] | None) -> tuple[SequenceArrays, list[str]]:
    """Labels named by the labels file's `label_desc` (classes in label order), unless a training
    label order is given that holds more of the labels themselves than of their descriptions (a
    model trained before descriptions were read)."""
    descriptions = arrays.label_descriptions
    if not descriptions or arrays.labels is None:
        return arrays, []
    names = list(descriptions.values())
    if label_names is not None and len(set(descriptions) & set(label_names)) > len(set(names) & set(label_names)):
        return arrays, []
    named = np.array([descriptions[label] for label in arrays.labels], dtype=object)
    note = f"class names: {arrays.labels_source} column label_desc ({', '.join(names[:4])}{' ...' if len(names) > 4 else ''})"
    return replace(arrays, labels=named, label_order=names), [note]


def expand_data_specs(specs: str | Sequence[str]) -> list[Path]:
    """`--data` values (repeated, or quoted patterns like `'seq_*.npy'`) -> the files, in order;
    a pattern matching nothing is a DataError."""
    import glob

    files: list[Path] = []
    for spec in [specs] if isinstance(specs, (str, Path)) else specs:
        matches = sorted(glob.glob(str(spec))) if glob.has_magic(str(spec)) else [str(spec)]
        if not matches:
            raise DataError(f"--data {spec}: no file matches the pattern")
        files += [Path(match) for match in matches]
    return files


def load_data(
    specs: str | Sequence[str],
    labels: str | Path | None = None,
    label_last: bool = False,
    label_names: Sequence[str] | None = None,
    groups: str | Path | None = None,
    class_names: Sequence[str] | None = None,
    group_column: str | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
) -> SequenceDataset:
    """One dataset from one or many `--data` specs (patterns expanded, see `expand_data_specs`),
    each read by `load_dataset` with the same layout options and stacked.

    Several files: their steps are padded to the longest, ids become `<file stem>/<id>`, and a
    file without groups has its stem as its samples' group (a file is one recording or session,
    so its windows never straddle two splits; a note says so). Every file needs the same frame
    layout, rate and skeleton; labels are indexed over the union of their names (in
    `label_names` / `class_names` order when given)."""
    files = expand_data_specs(specs)
    if len(files) == 1:
        return load_dataset(
            files[0],
            labels,
            label_last,
            label_names,
            groups,
            class_names,
            group_column,
            label_column=label_column,
            id_column=id_column,
        )
    if labels is not None or groups is not None or {group_column, label_column, id_column} != {None}:
        raise DataError(
            f"--labels, --groups and the --*-column flags describe one data file, but {len(files)} were given "
            f"({files[0]}, {files[1]}, ...); give one file, or groups inside each file"
        )
    parts = [load_dataset(file, label_last=label_last, class_names=class_names) for file in files]
    return _stacked(parts, files, label_names or class_names)


def _stacked(parts: list[SequenceDataset], files: list[Path], label_names: Sequence[str] | None) -> SequenceDataset:
    from actrec.io.arrays import pad_sequences

    first = parts[0]
    for part in parts[1:]:
        if part.X.shape[2:] != first.X.shape[2:]:
            raise DataError(
                f"{part.source}: frames of shape {part.X.shape[2:]} differ from {first.source}'s {first.X.shape[2:]}; "
                "give files of one layout"
            )
        if (part.y is None) != (first.y is None):
            raise DataError(
                f"{part.source}: {'un' if part.y is None else ''}labelled while {first.source} is not; give files that all carry labels, or none"
            )
        for name in ("schema", "feature_names", "sample_rate_hz"):
            if getattr(part, name) != getattr(first, name):
                raise DataError(
                    f"{part.source}: {name} {getattr(part, name)} differs from {first.source}'s {getattr(first, name)}; "
                    "give files of one layout"
                )
    source = f"{files[0]} and {len(files) - 1} more file(s)"
    stems = [file.stem for file in files]
    ids = np.concatenate([[f"{stem}/{sample}" for sample in np.asarray(part.ids)] for stem, part in zip(stems, parts)])
    without = [stem for stem, part in zip(stems, parts) if part.groups is None]
    groups = np.concatenate(
        [
            part.groups if part.groups is not None else np.full(part.n_samples, stem, dtype=object)
            for stem, part in zip(stems, parts)
        ]
    )
    notes = [note for part in parts for note in part.notes]
    if without:
        notes.append(
            f"groups: each of {len(without)} file(s) without groups ({', '.join(without[:3])}{' ...' if len(without) > 3 else ''}) "
            "is one group, so its samples stay on one side of every split"
        )
    y: np.ndarray | None = None
    names: list[str] = []
    if first.y is not None:
        raw = np.concatenate([part.labels_as_names() for part in parts])
        y, names = encode_labels(raw, source, ids, label_names)
    samples = [x[:n] for part in parts for x, n in zip(part.X, part.lengths)]
    X, lengths = pad_sequences(samples, source=source, ids=ids)
    shared = set.intersection(*(set(part.meta) for part in parts))
    return SequenceDataset(
        X=X,
        lengths=lengths,
        y=y,
        label_names=names,
        groups=groups,
        ids=ids,
        feature_names=first.feature_names,
        sample_rate_hz=first.sample_rate_hz,
        schema=first.schema,
        source=source,
        notes=notes,
        meta={key: np.concatenate([np.asarray(part.meta[key]) for part in parts]) for key in sorted(shared)},
    )


def load_for_prediction(
    spec: str | Path,
    window: int,
    stride: int,
    label_last: bool = False,
    class_names: Sequence[str] | None = None,
    *,
    model: FrameModel,
) -> SequenceDataset:
    """Data to predict, labelled or not: keypoint sources (`keypoint_sources.is_keypoint_source`:
    recordings, keypoint JSON, videos, a session CSV) are read in `model`'s skeleton and cut into
    `window`-frame windows every `stride` frames (`segments.windows_of_recordings`); any other
    `--data` spec is read by `load_dataset`. Labels a file carries are kept under its own names,
    never checked against the training labels (a window labelled `unknown` is new data too);
    `label_last` and `class_names` read a `.npy` as for training."""
    from actrec.data.keypoint_sources import is_keypoint_source, read_keypoint_source
    from actrec.data.segments import windows_of_recordings

    if is_keypoint_source(spec, model):
        return windows_of_recordings(read_keypoint_source(spec, model), window, stride, str(spec))
    return load_dataset(Path(spec), label_last=label_last, class_names=class_names)


def _encoded(arrays: SequenceArrays, label_names: Sequence[str] | None) -> tuple[np.ndarray | None, list[str]]:
    """The raw labels as indexes into `label_names` (default: the file's own order, else sorted)."""
    if arrays.labels is None:
        return None, []
    order = label_names if label_names is not None else arrays.label_order
    ids = arrays.ids if arrays.ids is not None else [str(i) for i in range(len(arrays.labels))]
    return encode_labels(arrays.labels, arrays.labels_source or arrays.source, ids, order)


def _dataset(
    arrays: SequenceArrays, y: np.ndarray | None, names: list[str], groups: np.ndarray | None
) -> SequenceDataset:
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
        notes=list(arrays.notes),
    )


def _npy_dataset(
    path: Path,
    label_last: bool,
    label_names: Sequence[str] | None,
    groups: str | Path | None,
    class_names: Sequence[str] | None,
    limits: ArrayLimits | None,
) -> SequenceDataset:
    """A `.npy`'s windows with their class names and groups file, both given beside the array."""
    from actrec.io.npy import read_npy

    arrays = read_npy(path, label_last=label_last, limits=limits)
    if class_names and not label_last:
        raise DataError(f"{arrays.source}: --label-names names the classes of the label column; add --label-last")
    if class_names and arrays.labels is not None:
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
        raise DataError(
            f"{path}: {group_ids.shape[0]} group ids for the {n_samples} windows of {data_source}; give one per window, in order"
        )
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


def check_label_last(
    data: str | Path | Sequence[str], dataset: SequenceDataset, frame_shape: tuple[int, ...], label_last: bool
) -> None:
    """A .npy read without --label-last whose frames are one column wider than the model's almost
    surely carries its label last: say so instead of a shape mismatch. `data`: the `--data`
    value(s) (files or patterns) that gave `dataset`."""
    if not isinstance(data, (str, Path)):
        data = data[0]
    width = dataset.X.shape[2:]
    if (
        not label_last
        and str(data).lower().endswith(".npy")
        and len(frame_shape) == 1
        and width == (frame_shape[0] + 1,)
    ):
        raise DataError(
            f"{data}: each step has {width[0]} columns, one more than the model's {frame_shape[0]}; "
            "if the last column is the label, add --label-last"
        )
