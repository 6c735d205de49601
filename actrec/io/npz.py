"""Read the `.npz` layout `SequenceDataset.to_npz` writes (and people save by hand).

Keys: `X` float `[N, T, F]` or `[N, T, J, C]` (required); `y` `[N]` class numbers or names
(optional: without it the dataset is unlabelled, for predict); optional `lengths [N]` (default: all
T steps valid), `groups [N]`, `ids [N]`, `label_names [C]` (when `y` holds indexes into them),
`feature_names [F]`, `sample_rate_hz` (scalar), `schema` (scalar string) and `meta_<name> [N]`.

The file is read with `allow_pickle=False`, so it can never run code. Ragged sequences saved as an
object array therefore cannot be read: pad them (`actrec.data.dataset.pad_sequences`) and save the
padded `X` with `lengths` instead.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.errors import DataError
from actrec.io.labels import encode_labels
from actrec.io.schema_path import schema_as_read

def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (not a zip archive); save it with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(
                f"{path}: holds an object array (ragged sequences or Python objects), which actrec "
                "will not unpickle; save padded X [N, T, F] plus a 'lengths' array instead "
                "(actrec.data.dataset.pad_sequences does the padding)"
            ) from None
        raise DataError(f"{path}: not a readable .npz file ({error}); save it with numpy.savez") from None
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error}); save it with numpy.savez") from None


def _scalar_string(value: np.ndarray | None) -> str | None:
    return None if value is None else str(np.asarray(value).reshape(-1)[0])


def load_npz(path: str | Path, label_names: Sequence[str] | None = None) -> SequenceDataset:
    """Read a `.npz` into a SequenceDataset; `label_names` re-indexes `y` to a training set's order."""
    path = Path(path)
    arrays = _read_arrays(path)
    source = str(path)
    if "X" not in arrays:
        raise DataError(f"{source}: no 'X' array (found {', '.join(sorted(arrays)) or 'none'}); save X [N, T, F] as 'X'")
    X = arrays["X"]
    if X.dtype.kind not in "fiub":
        raise DataError(f"{source}: X has type {X.dtype}; it must hold numbers")
    if X.ndim not in (3, 4):
        raise DataError(
            f"{source}: X has shape {X.shape}; expected [N, T, F] or [N, T, J, C] "
            "(add a step axis with X[:, None] for one-frame samples)"
        )
    n = X.shape[0]
    ids = arrays["ids"].astype(str) if "ids" in arrays else np.array([str(i) for i in range(n)])
    for key in ("y", "lengths", "groups", "ids"):
        if key in arrays and arrays[key].reshape(-1).shape[0] != n:
            raise DataError(f"{source}: '{key}' has {arrays[key].reshape(-1).shape[0]} entries for {n} samples in X")
    lengths = arrays.get("lengths", np.full(n, X.shape[1], dtype=np.int64))
    y, names = None, []
    if "y" in arrays:
        raw = arrays["y"].reshape(-1)
        file_names = arrays["label_names"].astype(str) if "label_names" in arrays else None
        if file_names is not None and raw.dtype.kind in "iu":
            out = np.flatnonzero((raw < 0) | (raw >= len(file_names)))
            if out.size:
                raise DataError(
                    f"{source}: sample {ids[out[0]]} has label index {raw[out[0]]}, outside the "
                    f"{len(file_names)} label_names; fix y or label_names"
                )
            raw = file_names[raw]
        if label_names is None and file_names is not None:
            label_names = list(file_names)
        y, names = encode_labels(raw, source, ids, label_names)
    sample_rate = arrays.get("sample_rate_hz")
    return SequenceDataset(
        X=X,
        lengths=lengths,
        y=y,
        label_names=names,
        groups=arrays.get("groups"),
        ids=ids,
        feature_names=list(arrays["feature_names"].astype(str)) if "feature_names" in arrays else None,
        sample_rate_hz=None if sample_rate is None else float(np.asarray(sample_rate).reshape(-1)[0]),
        schema=schema_as_read(_scalar_string(arrays.get("schema")), path),
        meta={key[len("meta_"):]: value for key, value in arrays.items() if key.startswith("meta_")},
        source=source,
    )
