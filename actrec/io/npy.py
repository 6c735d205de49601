"""Read a plain `.npy` array, optionally with the label stored as its last feature column.

MediaPipe sliding-window scripts often save `np.save("data.npy", windows)` with windows of shape
`[N, T, F+1]` whose last column repeats the class number on every frame (`--label-last`). The label
must be the same on all steps of a window; a window whose label changes is an error naming it.

Accepted shapes:
- `[N, T, F+1]` with `label_last=True`: N windows of T steps, label from the last column.
- `[N, F+1]` with `label_last=True`: N one-step samples (per-frame pose classification), read as
  `[N, 1, F]`.
- `[N, T, F]` or `[N, T, J, C]` without `label_last`: unlabelled samples (for predict).

A `.npy` holds numbers only, so what else a dataset needs comes beside it: a groups file (a text
file with one group id per window, e.g. the video it was cut from, or a 1-D `.npy`, read by
`read_group_ids`) keeps the windows of one video on one side of every split; class names name the
class numbers 0..K-1 (both attached by `actrec.data.loading`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actrec.errors import DataError
from actrec.io.archive import ARRAY_FILE_ERRORS
from actrec.io.array_limits import ArrayLimits, check_npy
from actrec.io.arrays import SequenceArrays


def _read_array(path: Path, limits: ArrayLimits) -> np.ndarray:
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic != b"\x93NUMPY":
        hint = "it is an .npz archive, rename it" if magic.startswith(b"PK") else "save it with numpy.save"
        raise DataError(f"{path}: not a .npy file; {hint}")
    check_npy(path, limits)  # before numpy allocates what the header declares
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(
                f"{path}: holds an object array, which actrec will not unpickle; save a numeric "
                "array [N, T, F+1] (np.stack the windows first)"
            ) from None
        raise DataError(f"{path}: not a readable .npy file ({error}); save it with numpy.save") from None
    except ARRAY_FILE_ERRORS as error:
        raise DataError(f"{path}: not a readable .npy file ({type(error).__name__}); save it with numpy.save") from None
    if array.dtype.kind not in "fiub":
        raise DataError(f"{path}: array has type {array.dtype}; it must hold numbers")
    return array


def _split_label_column(array: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """`[N, T, F+1]` -> features `[N, T, F]` and one label per window (checked constant over T)."""
    if array.shape[-1] < 2:
        raise DataError(f"{source}: shape {array.shape} leaves no feature columns beside the label")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"{source}: shape {array.shape} holds no windows or no steps; save [N, T, F+1] with N, T >= 1")
    labels = array[:, :, -1]
    differs = labels != labels[:, :1]
    if differs.any():
        sample, step = np.argwhere(differs)[0]
        raise DataError(
            f"{source}: sample {sample} changes label from {labels[sample, 0]} to {labels[sample, step]} "
            f"at step {step}; --label-last needs one label per window (cut windows inside one label)"
        )
    return array[:, :, :-1], labels[:, 0]


def read_group_ids(path: str | Path) -> np.ndarray:
    """`[N]` group ids from a text file (one per line) or a 1-D `.npy`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: groups file not found; give one group id per window, one per line")
    if path.suffix.lower() == ".npy":
        return _read_array(path, ArrayLimits.default()).reshape(-1).astype(str)
    try:
        return np.array([line.strip() for line in path.read_text().splitlines() if line.strip()])
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read as text ({type(error).__name__}); write one group id per line") from None


def read_npy(path: str | Path, label_last: bool = False, limits: ArrayLimits | None = None) -> SequenceArrays:
    """Read a `.npy`'s windows (see the module docstring for the shapes); with `label_last` the
    label column comes back as `labels` (one raw class number per window). `limits` (default
    `ArrayLimits.default()`) bound what its header may declare."""
    path = Path(path)
    source = str(path)
    array = _read_array(path, limits or ArrayLimits.default())
    raw = None
    if label_last:
        if array.ndim == 2:
            array = array[:, None, :]
        if array.ndim != 3:
            raise DataError(
                f"{source}: shape {array.shape} does not fit --label-last; expected [N, T, F+1] or [N, F+1]"
            )
        array, raw = _split_label_column(array, source)
    elif array.ndim not in (3, 4):
        raise DataError(
            f"{source}: shape {array.shape}; expected [N, T, F] or [N, T, J, C] "
            "(pass --label-last if the last column holds the label)"
        )
    return SequenceArrays(
        X=array,
        lengths=np.full(array.shape[0], array.shape[1], dtype=np.int64),
        source=source,
        labels=raw,
    )
