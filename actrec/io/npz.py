"""Read the `.npz` layout `SequenceDataset.to_npz` writes (and people save by hand).

Keys: `X` float `[N, T, F]` or `[N, T, J, C]` (required); `y` `[N]` class numbers or names
(optional: without it the dataset is unlabelled, for predict); optional `lengths [N]` (default: all
T steps valid), `groups [N]`, `ids [N]`, `label_names [C]` (when `y` holds indexes into them),
`feature_names [F]`, `sample_rate_hz` (scalar), `schema` (scalar string) and `meta_<name> [N]`.

The file is read with `allow_pickle=False`, so it can never run code. Ragged sequences saved as an
object array therefore cannot be read: pad them (`actrec.io.arrays.pad_sequences`) and save the
padded `X` with `lengths` instead. `read_npz` returns the arrays; `actrec.data.loading` builds the dataset.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from actrec.errors import DataError
from actrec.io.archive import ARRAY_FILE_ERRORS
from actrec.io.array_limits import ArrayLimits, check_npz
from actrec.io.arrays import SequenceArrays
from actrec.io.labels import label_strings
from actrec.io.schema_path import schema_as_read


def read_npz_arrays(path: Path, limits: ArrayLimits) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a readable .npz file (not a zip archive); save it with numpy.savez")
    check_npz(path, limits)  # before numpy allocates or inflates what the headers declare
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(
                f"{path}: holds an object array (ragged sequences or Python objects), which actrec "
                "will not unpickle; save padded X [N, T, F] plus a 'lengths' array instead "
                "(actrec.io.arrays.pad_sequences does the padding)"
            ) from None
        raise DataError(f"{path}: not a readable .npz file ({error}); save it with numpy.savez") from None
    except ARRAY_FILE_ERRORS as error:
        raise DataError(f"{path}: not a readable .npz file ({error}); save it with numpy.savez") from None


def _scalar(arrays: dict[str, np.ndarray], key: str, kinds: str, source: str, hint: str) -> np.generic | None:
    """The one value of a scalar entry (e.g. `sample_rate_hz`), None when absent."""
    if key not in arrays:
        return None
    value = arrays[key]
    if value.size != 1 or value.dtype.kind not in kinds:
        raise DataError(f"{source}: '{key}' is {value.dtype} of shape {value.shape}; {hint}")
    return value.reshape(-1)[0]


def _as_text(value: np.ndarray, key: str, source: str) -> np.ndarray:
    """Names or ids as a str array; bytes that are not ASCII are refused (numpy decodes them as ASCII)."""
    try:
        return value.astype(str)
    except UnicodeDecodeError:
        raise DataError(f"{source}: '{key}' holds bytes that are not ASCII text; save names as str arrays") from None


def _per_sample(arrays: dict[str, np.ndarray], key: str, n: int, source: str) -> np.ndarray | None:
    """`arrays[key]` as `[n]` (None when absent); its count must match X's samples."""
    if key not in arrays:
        return None
    value = arrays[key]
    if value.ndim == 0 or value.shape[0] != n or value.size != n:
        raise DataError(f"{source}: '{key}' has {value.size} entries for {n} samples in X; give one entry per sample")
    return value.reshape(-1)


def _sample_rate_hz(arrays: dict[str, np.ndarray], source: str) -> float | None:
    hint = "save the steps per second as one positive number"
    rate = _scalar(arrays, "sample_rate_hz", "fiu", source, hint)
    if rate is None:
        return None
    if not (np.isfinite(float(rate)) and float(rate) > 0):
        raise DataError(f"{source}: 'sample_rate_hz' is {rate}; {hint}")
    return float(rate)


def _lengths(arrays: dict[str, np.ndarray], ids: np.ndarray, n_steps: int, source: str) -> np.ndarray:
    """`[N]` int64 valid steps per sample (default: all of X's steps)."""
    lengths = _per_sample(arrays, "lengths", len(ids), source)
    if lengths is None:
        return np.full(len(ids), n_steps, dtype=np.int64)
    whole = lengths.dtype.kind in "iu" or (
        lengths.dtype.kind == "f" and np.all(np.isfinite(lengths) & (lengths == np.round(lengths)))
    )
    if not whole:
        raise DataError(f"{source}: 'lengths' holds {lengths.dtype} values; save whole step counts, one per sample")
    too_long = np.flatnonzero(lengths > n_steps)  # before the cast, where 1e20 steps would wrap around
    if too_long.size:
        raise DataError(
            f"{source}: sample {ids[too_long[0]]} claims {lengths[too_long[0]]:g} steps but X holds {n_steps}"
        )
    return lengths.astype(np.int64)


def read_npz(path: str | Path, limits: ArrayLimits | None = None) -> SequenceArrays:
    """Read a `.npz`'s arrays; integer `y` with `label_names` comes back as those names.
    `limits` (default `ArrayLimits.default()`) bound what its headers may declare."""
    path = Path(path)
    return sequence_arrays(read_npz_arrays(path, limits or ArrayLimits.default()), path, str(path))


def sequence_arrays(arrays: dict[str, np.ndarray], path: Path, source: str) -> SequenceArrays:
    """The `.npz` layout's arrays checked and read into `SequenceArrays` (X may be memory-mapped:
    nothing here copies it); `path` locates a relative schema path."""
    if "X" not in arrays:
        raise DataError(
            f"{source}: no 'X' array (found {', '.join(sorted(arrays)) or 'none'}); save X [N, T, F] as 'X'"
        )
    X = arrays["X"]
    if X.dtype.kind not in "fiub":
        raise DataError(f"{source}: X has type {X.dtype}; it must hold numbers")
    if X.ndim not in (3, 4):
        raise DataError(
            f"{source}: X has shape {X.shape}; expected [N, T, F] or [N, T, J, C] "
            "(add a step axis with X[:, None] for one-frame samples)"
        )
    n = X.shape[0]
    ids = _per_sample(arrays, "ids", n, source)
    ids = _as_text(ids, "ids", source) if ids is not None else np.array([str(i) for i in range(n)])
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise DataError(
            f"{source}: id '{unique[counts > 1][0]}' names {counts.max()} samples; give every sample its own id"
        )
    raw, file_names = None, None
    if "y" in arrays:
        raw = _per_sample(arrays, "y", n, source)
        assert raw is not None  # "y" is in arrays
        file_names = (
            _as_text(arrays["label_names"].reshape(-1), "label_names", source) if "label_names" in arrays else None
        )
        if file_names is not None and raw.dtype.kind in "iu":
            out = np.flatnonzero((raw < 0) | (raw >= len(file_names)))
            if out.size:
                raise DataError(
                    f"{source}: sample {ids[out[0]]} has label index {raw[out[0]]}, outside the "
                    f"{len(file_names)} label_names; fix y or label_names"
                )
            raw = file_names[raw]
        raw = label_strings(raw, source, ids)
    feature_names = (
        list(_as_text(arrays["feature_names"].reshape(-1), "feature_names", source))
        if "feature_names" in arrays
        else None
    )
    if feature_names is not None and X.ndim == 3 and len(feature_names) != X.shape[2]:
        raise DataError(
            f"{source}: {len(feature_names)} feature_names for the {X.shape[2]} features of X; give one name per feature"
        )
    groups = _per_sample(arrays, "groups", n, source)
    schema = _scalar(arrays, "schema", "US", source, "save the skeleton schema's name or .yaml path as one string")
    schema_text = None if schema is None else str(_as_text(np.asarray(schema), "schema", source)) or None
    meta = {key[len("meta_") :]: value for key, value in arrays.items() if key.startswith("meta_")}
    for key, value in meta.items():
        if value.ndim == 0 or value.shape[0] != n:
            raise DataError(
                f"{source}: 'meta_{key}' has shape {value.shape} for {n} samples in X; give one entry per sample"
            )
    return SequenceArrays(
        X=X,
        lengths=_lengths(arrays, ids, X.shape[1], source),
        source=source,
        labels=raw,
        label_order=None if file_names is None else list(file_names),
        groups=None if groups is None else _as_text(groups, "groups", source),
        ids=ids,
        feature_names=feature_names,
        sample_rate_hz=_sample_rate_hz(arrays, source),
        schema=schema_as_read(schema_text, path),
        meta=meta,
    )
