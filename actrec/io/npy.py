"""Read a plain `.npy` array, optionally with the label stored as its last feature column.

MediaPipe sliding-window scripts often save `np.save("data.npy", windows)` with windows of shape
`[N, T, F+1]` whose last column repeats the class number on every frame (`--label-last`). The label
must be the same on all steps of a window; a window whose label changes is an error naming it.

Accepted shapes:
- `[N, T, F+1]` with `label_last=True`: N windows of T steps, label from the last column.
- `[N, F+1]` with `label_last=True`: N one-step samples (per-frame pose classification), read as
  `[N, 1, F]`.
- `[N, T, F]` or `[N, T, J, C]` without `label_last`: unlabelled samples (for predict).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.errors import DataError
from actrec.io.labels import encode_labels


def _read_array(path: Path) -> np.ndarray:
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic != b"\x93NUMPY":
        hint = "it is an .npz archive, rename it" if magic.startswith(b"PK") else "save it with numpy.save"
        raise DataError(f"{path}: not a .npy file; {hint}")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(
                f"{path}: holds an object array, which actrec will not unpickle; save a numeric "
                "array [N, T, F+1] (np.stack the windows first)"
            ) from None
        raise DataError(f"{path}: not a readable .npy file ({error}); save it with numpy.save") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npy file ({error}); save it with numpy.save") from None
    if array.dtype.kind not in "fiub":
        raise DataError(f"{path}: array has type {array.dtype}; it must hold numbers")
    return array


def _split_label_column(array: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """`[N, T, F+1]` -> features `[N, T, F]` and one label per window (checked constant over T)."""
    if array.shape[-1] < 2:
        raise DataError(f"{source}: shape {array.shape} leaves no feature columns beside the label")
    labels = array[:, :, -1]
    differs = labels != labels[:, :1]
    if differs.any():
        sample, step = np.argwhere(differs)[0]
        raise DataError(
            f"{source}: sample {sample} changes label from {labels[sample, 0]} to {labels[sample, step]} "
            f"at step {step}; --label-last needs one label per window (cut windows inside one label)"
        )
    return array[:, :, :-1], labels[:, 0]


def load_npy(
    path: str | Path, label_last: bool = False, label_names: Sequence[str] | None = None
) -> SequenceDataset:
    """Read a `.npy` into a SequenceDataset (see the module docstring for the shapes)."""
    path = Path(path)
    source = str(path)
    array = _read_array(path)
    y, names = None, []
    if label_last:
        if array.ndim == 2:
            array = array[:, None, :]
        if array.ndim != 3:
            raise DataError(
                f"{source}: shape {array.shape} does not fit --label-last; expected [N, T, F+1] or [N, F+1]"
            )
        array, raw = _split_label_column(array, source)
        ids = [str(i) for i in range(array.shape[0])]
        y, names = encode_labels(raw, source, ids, label_names)
    elif array.ndim not in (3, 4):
        raise DataError(
            f"{source}: shape {array.shape}; expected [N, T, F] or [N, T, J, C] "
            "(pass --label-last if the last column holds the label)"
        )
    return SequenceDataset(
        X=array,
        lengths=np.full(array.shape[0], array.shape[1], dtype=np.int64),
        y=y,
        label_names=names,
        source=source,
    )
