"""Labels as read: one check that turns raw labels (strings or class numbers) into label texts,
shared by the readers; `actrec.data.labels.encode_labels` turns them into indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actrec.errors import DataError


def label_strings(raw: np.ndarray, source: str, ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """`[N]` labels as strings; integral floats (`3.0`, as saved in float arrays) become `"3"`."""
    raw = np.asarray(raw).reshape(-1)
    if raw.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(raw) | (raw != np.round(raw)))
        if bad.size:
            raise DataError(
                f"{source}: sample {ids[bad[0]]} has label {raw[bad[0]]}; labels must be class numbers or names"
            )
        raw = raw.astype(np.int64)
    if raw.dtype.kind in "iu":
        return raw.astype(str).astype(object)
    if raw.dtype.kind in "USO":
        try:
            strings = raw.astype(str).astype(object)
        except UnicodeDecodeError:
            raise DataError(f"{source}: labels hold bytes that are not ASCII text; save them as str") from None
        empty = np.flatnonzero((strings == "") | (strings == "nan") | (strings == "None"))
        if empty.size:
            raise DataError(f"{source}: sample {ids[empty[0]]} has no label; give every sample a label")
        return strings
    raise DataError(f"{source}: labels have type {raw.dtype}; expected class numbers or names")
