"""The array folder: a dataset read in chunks, for data larger than memory.

`DIR/X.npy` holds X float32 `[N, T, F]` or `[N, T, J, C]`, opened memory-mapped, so a command
reads the samples it touches and nothing more; `DIR/samples.npz` beside it holds everything per
sample (lengths, y, label_names, groups, ids, feature_names, sample_rate_hz, schema, meta_<name>),
with the keys and checks of the `.npz` layout (`io/npz.py`). A `.npz` stays the format for small
data: it is one file, compressed, but numpy inflates all of X to read any of it.

`ArrayFolderWriter` fills X a chunk at a time (generated or converted data never needs to fit in
memory) inside `DIR.partial`, renamed to `DIR` when complete, so a folder that exists is whole.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import DataError
from actrec.io.array_limits import ArrayLimits
from actrec.io.arrays import SequenceArrays

X_FILE = "X.npy"
SAMPLES_FILE = "samples.npz"


def is_array_folder(path: str | Path) -> bool:
    """A folder holding `X.npy` and `samples.npz`."""
    path = Path(path)
    return path.is_dir() and (path / X_FILE).is_file() and (path / SAMPLES_FILE).is_file()


def open_x(path: Path) -> np.ndarray:
    """X of an array folder, memory-mapped read-only (a DataError for anything numpy cannot map)."""
    try:
        X = np.load(path / X_FILE, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(
            f"{path / X_FILE}: not a readable .npy file ({str(error)[:120]}); write the folder with actrec dataset build --format folder"
        ) from None
    if X.dtype != np.float32:
        raise DataError(
            f"{path / X_FILE}: X has type {X.dtype}; an array folder holds float32 X, so it is read without a converted copy"
        )
    return X


def read_array_folder(path: str | Path, limits: ArrayLimits | None = None) -> SequenceArrays:
    """An array folder's arrays: X memory-mapped, the rest read from `samples.npz` and checked as
    a `.npz` is (`io/npz.py`)."""
    from actrec.io.npz import read_npz_arrays, sequence_arrays

    path = Path(path)
    arrays = read_npz_arrays(path / SAMPLES_FILE, limits or ArrayLimits.default())
    if "X" in arrays:
        raise DataError(f"{path / SAMPLES_FILE}: holds an 'X'; in an array folder X is {X_FILE} beside it")
    arrays["X"] = open_x(path)
    return sequence_arrays(arrays, path / SAMPLES_FILE, str(path))


class ArrayFolderWriter:
    """Write an array folder: `write(X_chunk)` in sample order, then `finish(**per_sample)` with
    the `samples.npz` entries (lengths, y, ids, ...). Nothing appears at `path` before `finish`."""

    def __init__(self, path: str | Path, n_samples: int, sample_shape: tuple[int, ...]) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        if self.partial.exists():
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True)
        self.X = np.lib.format.open_memmap(
            self.partial / X_FILE, mode="w+", dtype=np.float32, shape=(n_samples, *sample_shape)
        )
        self.written = 0

    def write(self, chunk: np.ndarray) -> None:
        stop = self.written + len(chunk)
        if stop > len(self.X):
            raise DataError(f"{self.path}: more than the {len(self.X)} samples announced were written")
        self.X[self.written : stop] = chunk
        self.written = stop

    def finish(self, **per_sample: Any) -> Path:
        """Flush X, write `samples.npz` and publish the folder (an older one is replaced only now)."""
        if self.written != len(self.X):
            raise DataError(
                f"{self.path}: {self.written} of {len(self.X)} samples written; write them all before finish"
            )
        self.X.flush()
        del self.X
        with open(self.partial / SAMPLES_FILE, "wb") as handle:
            np.savez(handle, **{key: value for key, value in per_sample.items() if value is not None})
        if self.path.exists():
            old = self.path.with_name(self.path.name + ".old")
            if old.exists():
                shutil.rmtree(old)
            self.path.rename(old)
            self.partial.rename(self.path)
            shutil.rmtree(old)
        else:
            self.partial.rename(self.path)
        return self.path
