"""Fuzz the array loaders: `.npz` datasets and `.npy` windows (with and without --label-last).

Generated files mix a plausible layout (X [N, T, F], per-sample arrays of N +- 1 entries) with
any shape and dtype (0-d, empty, complex, strings, bytes, datetimes, NaN/inf/huge values), then
maybe damage the bytes. See fuzzing.py for the property and ACTREC_FUZZ_EXAMPLES.
"""

from __future__ import annotations

import io

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from actrec.data.loading import load_dataset
from tests.fuzz.fuzzing import (
    ANY_SHAPE,
    DTYPES,
    TEXT,
    array_of,
    check_dataset,
    corrupted,
    fuzz_settings,
    loads_or_fails_cleanly,
    scratch,
)

NUMERIC = st.sampled_from(["float32", "float64", "int64", "uint8", "bool"])


def per_sample(n: int) -> st.SearchStrategy[np.ndarray]:
    """An array meant to hold one entry per sample: right length or one off, any dtype, or any shape."""
    lengths = st.sampled_from([n, n, n, max(n - 1, 0), n + 1]).map(lambda k: (k,))
    good = st.one_of(
        array_of(st.sampled_from(["int64", "<U3"]), st.just((n,))),
        st.lists(st.text(max_size=3), min_size=n, max_size=n).map(np.array),
    )
    return st.one_of(
        good,
        good,
        good,
        array_of(DTYPES, lengths),
        array_of(DTYPES, ANY_SHAPE),
        st.lists(TEXT, min_size=n, max_size=n).map(np.array),
    )


@st.composite
def npz_arrays(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n, t = draw(st.sampled_from([3, 1, 2, 4, 0])), draw(st.sampled_from([2, 1, 3, 4, 0]))
    shape = draw(
        st.one_of(*[st.tuples(st.just(n), st.just(t), st.integers(1, 3))] * 3, st.just((n, t, 2, 2)), ANY_SHAPE)
    )
    arrays: dict[str, np.ndarray] = {}
    if draw(st.integers(0, 9)):
        arrays["X"] = draw(hnp.arrays(draw(st.one_of(NUMERIC, NUMERIC, NUMERIC, DTYPES)), shape))
    for key in ("y", "lengths", "groups", "ids", "label_names", "feature_names", "meta_start"):
        if not draw(st.integers(0, 3)):
            arrays[key] = draw(
                per_sample(n)
                if key != "lengths"
                else st.one_of(per_sample(n), st.integers(-1, t + 1).map(lambda v: np.full(n, v)))
            )
    if draw(st.booleans()):
        arrays["y"] = np.asarray(draw(st.lists(st.integers(-2, 3), min_size=n, max_size=n)), dtype=np.int64).reshape(-1)
    for key in ("sample_rate_hz", "schema"):
        if draw(st.booleans()):
            arrays[key] = draw(
                st.one_of(
                    array_of(DTYPES, ANY_SHAPE),
                    st.sampled_from(
                        [
                            np.float64(50),
                            np.float64(-1),
                            np.float64(0),
                            np.float64(np.nan),
                            np.asarray("coco17"),
                            np.asarray("skel.yaml"),
                            np.asarray(""),
                        ]
                    ),
                )
            )
    return arrays


def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


@fuzz_settings(300)
@given(arrays=npz_arrays(), data=st.data())
def test_npz_loads_or_fails_in_one_line(arrays, data):
    content = data.draw(corrupted(npz_bytes(arrays, compressed=data.draw(st.booleans()))))
    with scratch() as folder:
        path = folder / "data.npz"
        path.write_bytes(content)
        label_names = data.draw(st.one_of(st.none(), st.lists(TEXT, max_size=3)))
        dataset = loads_or_fails_cleanly(lambda: load_dataset(path, label_names=label_names), path)
        if dataset is not None:
            check_dataset(dataset)


@st.composite
def npy_array(draw: st.DrawFn) -> np.ndarray:
    n, t, f = (
        draw(st.sampled_from([3, 1, 2, 4, 0])),
        draw(st.sampled_from([2, 1, 3, 4, 0])),
        draw(st.sampled_from([3, 1, 2, 4, 0])),
    )
    shape = draw(st.one_of(st.just((n, t, f)), st.just((n, t, f)), st.just((n, f)), st.just((n, t, 2, 2)), ANY_SHAPE))
    array = draw(hnp.arrays(draw(st.one_of(NUMERIC, NUMERIC, DTYPES)), shape))
    if array.ndim == 3 and array.shape[2] and draw(st.booleans()):  # a label column constant over each window
        labels = draw(hnp.arrays(array.dtype, (array.shape[0], 1)))
        array[:, :, -1] = labels
    return array


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@fuzz_settings(300)
@given(array=npy_array(), data=st.data())
def test_npy_loads_or_fails_in_one_line(array, data):
    content = data.draw(corrupted(npy_bytes(array)))
    label_last = data.draw(st.booleans())
    class_names = data.draw(st.one_of(st.none(), st.lists(TEXT.filter(bool), max_size=3)))
    with scratch() as folder:
        path = folder / "windows.npy"
        path.write_bytes(content)
        groups = None
        if data.draw(st.booleans()):
            groups = folder / data.draw(st.sampled_from(["videos.txt", "videos.npy"]))
            lines = data.draw(st.lists(TEXT, max_size=5))
            raw = (
                npy_bytes(np.array(lines))
                if groups.suffix == ".npy"
                else "\n".join(lines).encode("utf-8", "surrogatepass")
            )
            groups.write_bytes(data.draw(corrupted(raw)))
        dataset = loads_or_fails_cleanly(
            lambda: load_dataset(path, label_last=label_last, groups=groups, class_names=class_names),
            path,
            *([groups] if groups else []),
        )
        if dataset is not None:
            check_dataset(dataset)
