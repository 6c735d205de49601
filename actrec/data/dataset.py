"""The one in-memory form every modality is turned into.

Sensors, keypoints and windowed recordings all become a `SequenceDataset`: a padded float32 array
plus per-sample lengths, so ragged data is padded and masked, never silently truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import DataError


@dataclass
class SequenceDataset:
    """Labelled sequences.

    X: float32 `[N, T, F]` (sensors, features) or `[N, T, J, C]` (keypoints, flattened later by the
       feature pipeline); steps at and beyond `lengths[i]` are padding (zeros) and ignored.
       Keypoints may hold NaN where a detector saw nothing; the feature pipeline fills or masks them.
    lengths: int64 `[N]`, the number of valid steps of each sample (>= 1).
    y: int64 `[N]` indexes into `label_names`, or None for unlabelled data.
    groups: `[N]` strings (video, subject, session) that must never straddle two splits, or None.
    ids: `[N]` strings naming each sample in errors and prediction files.
    feature_names: one name per feature of `[N, T, F]` data (CSV column names), or None.
    sample_rate_hz: steps per second, when known (from a `time` column or a video's fps).
    schema: name of the skeleton schema for `[N, T, J, C]` data.
    meta: per-sample arrays of length N that travel with subsets (e.g. window start/end times).
    source: where the data came from, quoted in error messages.
    notes: what loading decided from the files' layout (groups from a `subject` column, class names
       from `label_desc`, one group per file), for the command to print.
    """

    X: np.ndarray
    lengths: np.ndarray
    y: np.ndarray | None = None
    label_names: list[str] = field(default_factory=list)
    groups: np.ndarray | None = None
    ids: np.ndarray | None = None
    feature_names: list[str] | None = None
    sample_rate_hz: float | None = None
    schema: str | None = None
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = "<memory>"
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float32)
        if self.X.ndim not in (3, 4):
            raise DataError(f"{self.source}: X has shape {self.X.shape}; expected [N, T, F] or [N, T, J, C]")
        n = self.X.shape[0]
        if n == 0:
            raise DataError(f"{self.source}: no samples; check the file holds data")
        self.lengths = np.asarray(self.lengths, dtype=np.int64).reshape(-1)
        if self.lengths.shape[0] != n:
            raise DataError(f"{self.source}: {self.lengths.shape[0]} lengths for {n} samples")
        if self.ids is None:
            self.ids = np.array([str(i) for i in range(n)], dtype=object)
        else:
            self.ids = np.asarray(self.ids).astype(str).astype(object)
        bad = np.flatnonzero(self.lengths < 1)
        if bad.size:
            raise DataError(f"{self.source}: sample {self.ids[bad[0]]} is empty (0 steps); remove it or give it data")
        too_long = np.flatnonzero(self.lengths > self.X.shape[1])
        if too_long.size:
            raise DataError(
                f"{self.source}: sample {self.ids[too_long[0]]} claims {self.lengths[too_long[0]]} steps "
                f"but X holds {self.X.shape[1]}"
            )
        if self.y is not None:
            self.y = np.asarray(self.y, dtype=np.int64).reshape(-1)
            if self.y.shape[0] != n:
                raise DataError(f"{self.source}: {self.y.shape[0]} labels for {n} samples")
            if not self.label_names:
                self.label_names = [str(i) for i in range(int(self.y.max()) + 1)]
            out = np.flatnonzero((self.y < 0) | (self.y >= len(self.label_names)))
            if out.size:
                raise DataError(
                    f"{self.source}: sample {self.ids[out[0]]} has label index {self.y[out[0]]}, "
                    f"outside the {len(self.label_names)} label names"
                )
        if self.groups is not None:
            self.groups = np.asarray(self.groups).astype(str).astype(object).reshape(-1)
            if self.groups.shape[0] != n:
                raise DataError(f"{self.source}: {self.groups.shape[0]} groups for {n} samples")
        for key, value in self.meta.items():
            if len(value) != n:
                raise DataError(f"{self.source}: meta '{key}' has {len(value)} rows for {n} samples")

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    @property
    def is_keypoints(self) -> bool:
        return self.X.ndim == 4

    def keep_last(self, n_steps: int) -> SequenceDataset:
        """Each sample cut to its last `n_steps` valid steps: X `[N, n_steps, ...]` (shorter
        samples keep their length). `TrainConfig.last_steps` and sweeps' `window_length` use it."""
        lengths = np.minimum(self.lengths, n_steps)
        X = np.zeros((self.n_samples, n_steps, *self.X.shape[2:]), dtype=np.float32)
        for index in range(self.n_samples):
            end = int(self.lengths[index])
            X[index, : lengths[index]] = self.X[index, end - lengths[index] : end]
        return replace(self, X=X, lengths=lengths)

    def subset(self, index: Sequence[int] | np.ndarray) -> SequenceDataset:
        """Samples at `index`, with every per-sample field cut alike."""
        index = np.asarray(index, dtype=np.int64)
        return replace(
            self,
            X=self.X[index],
            lengths=self.lengths[index],
            y=None if self.y is None else self.y[index],
            groups=None if self.groups is None else self.groups[index],
            ids=None if self.ids is None else self.ids[index],
            meta={k: np.asarray(v)[index] for k, v in self.meta.items()},
        )

    def mask(self) -> np.ndarray:
        """bool `[N, T]`: True on valid steps."""
        return np.arange(self.n_steps)[None, :] < self.lengths[:, None]

    def check_finite(self) -> None:
        """Raise a DataError naming the first sample and step holding NaN or inf in its valid part
        (read in chunks of samples: a memory-mapped X is never copied whole)."""
        values = self.X.reshape(self.n_samples, self.n_steps, -1)
        chunk = max(1, 2**24 // max(1, values.shape[1] * values.shape[2]))
        for start in range(0, self.n_samples, chunk):
            valid = np.arange(self.n_steps)[None, :] < self.lengths[start : start + chunk, None]
            bad = ~np.isfinite(values[start : start + chunk]) & valid[:, :, None]
            if bad.any():
                sample, step, feature = np.argwhere(bad)[0]
                sample += start
                name = self.feature_names[feature] if self.feature_names else f"feature {feature}"
                raise DataError(
                    f"{self.source}: sample {self.sample_id(sample)} step {step} {name} is "
                    f"{values[sample, step, feature]}; fill or drop missing values before training"
                )

    def sample_id(self, index: int) -> str:
        """Sample `index`'s id, for messages (`ids` is always filled by `__post_init__`)."""
        return str(np.asarray(self.ids)[index])

    @property
    def labels(self) -> np.ndarray:
        """`y` where labels are required (fitting, scoring): a DataError naming the data when it has none."""
        if self.y is None:
            raise DataError(f"{self.source}: has no labels")
        return self.y

    def labels_as_names(self) -> np.ndarray:
        if self.y is None:
            raise DataError(f"{self.source}: has no labels")
        return np.asarray(self.label_names, dtype=object)[self.y]

    def to_npz(self, path: str, compressed: bool = True) -> None:
        """Write the `.npz` layout `actrec train --data` reads (atomically); uncompressed for a
        file read once and thrown away (a shard sent to a Ray task)."""
        from actrec.io.atomic import atomic_path

        arrays = {"X": self.X} | self._per_sample_arrays(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            (np.savez_compressed if compressed else np.savez)(handle, **arrays)

    def to_folder(self, path: str, chunk: int = 4096) -> None:
        """Write an array folder (`io/array_folder.py`): X as a `.npy` that readers memory-map,
        written `chunk` samples at a time; published whole or not at all."""
        from actrec.io.array_folder import SAMPLES_FILE, ArrayFolderWriter

        writer = ArrayFolderWriter(path, self.n_samples, tuple(self.X.shape[1:]))
        for start in range(0, self.n_samples, chunk):
            writer.write(self.X[start : start + chunk])
        writer.finish(**self._per_sample_arrays(str(Path(path) / SAMPLES_FILE)))

    def _per_sample_arrays(self, path: str) -> dict[str, Any]:
        """Everything but X, under the `.npz` layout's keys (`path`: where a schema path is written from)."""
        from actrec.io.schema_path import schema_to_write

        arrays: dict[str, Any] = {"lengths": self.lengths, "ids": np.asarray(self.ids).astype(str)}
        if self.y is not None:
            arrays["y"] = self.y
            arrays["label_names"] = np.asarray(self.label_names, dtype=str)
        if self.groups is not None:
            arrays["groups"] = self.groups.astype(str)
        if self.feature_names:
            arrays["feature_names"] = np.asarray(self.feature_names, dtype=str)
        if self.sample_rate_hz:
            arrays["sample_rate_hz"] = np.float64(self.sample_rate_hz)
        if self.schema:
            arrays["schema"] = np.asarray(schema_to_write(self.schema, path))
        for key, value in self.meta.items():
            value = np.asarray(value)
            # object arrays would need pickle, which the npz loader refuses: store them as text
            arrays[f"meta_{key}"] = value.astype(str) if value.dtype == object else value
        return arrays


def as_dataset(
    X: Any,
    y: Any = None,
    groups: Any = None,
    lengths: Any = None,
    label_names: Sequence[str] | None = None,
    source: str = "<memory>",
) -> SequenceDataset:
    """Wrap arrays (or pass a SequenceDataset through); string labels are encoded the way every
    loader encodes them (`actrec.data.labels.encode_labels`)."""
    from actrec.data.labels import encode_labels

    if isinstance(X, SequenceDataset):
        return X
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim not in (3, 4):
        raise DataError(f"{source}: X has shape {X.shape}; expected [N, T, F] or [N, T, J, C]")
    if lengths is None:
        lengths = np.full(X.shape[0], X.shape[1], dtype=np.int64)
    names = list(label_names) if label_names is not None else []
    if y is not None:
        y = np.asarray(y)
        if y.dtype.kind in "USO":
            ids = [str(i) for i in range(len(y))]
            y, names = encode_labels(y, source, ids, label_names)
    return SequenceDataset(X=X, lengths=lengths, y=y, label_names=names, groups=groups, source=source)
