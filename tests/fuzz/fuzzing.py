"""The property every fuzz test checks, the count of inputs tried, and shared strategies.

Property: a loader given any bytes either returns a well-formed result, or raises one of actrec's
own errors (`actrec.errors.ActrecError`) whose message is one line naming the file at fault. Any
other exception (numpy, pandas, pyarrow, yaml, torch, a bare TypeError) escapes as a test failure,
and hypothesis shrinks it to the smallest input that shows it.

`ACTREC_FUZZ_EXAMPLES` (default 1) multiplies every test's number of examples for a longer run,
e.g. `ACTREC_FUZZ_EXAMPLES=20 python -m pytest tests/fuzz`.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install actrec[test])")
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from actrec.errors import ActrecError  # noqa: E402

# inputs tried, loaded, refused in one line, and anything else (a traceback): read by conftest.py
COUNTS: Counter[str] = Counter()

SCALE = max(1, int(os.environ.get("ACTREC_FUZZ_EXAMPLES", "1")))


def fuzz_settings(examples: int) -> settings:
    """Reproducible, database-free settings: the same inputs on every run and machine."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def loads_or_fails_cleanly(load: Callable[[], Any], *files: str | Path) -> Any:
    """`load()`'s result, or None when it raised an ActrecError of one line naming one of `files`."""
    COUNTS["inputs"] += 1
    try:
        result = load()
    except ActrecError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message, f"message is not one line: {message!r}"
        assert any(str(f) in message or Path(f).name in message for f in files), f"message names no file: {message!r}"
        COUNTS["refused"] += 1
        return None
    except BaseException:
        COUNTS["tracebacks"] += 1
        raise
    COUNTS["loaded"] += 1
    return result


def check_dataset(dataset: Any) -> None:
    """What every loaded SequenceDataset promises the rest of actrec."""
    n = dataset.X.shape[0]
    assert dataset.X.dtype == np.float32 and dataset.X.ndim in (3, 4) and n >= 1
    assert (
        dataset.lengths.shape == (n,) and (dataset.lengths >= 1).all() and (dataset.lengths <= dataset.X.shape[1]).all()
    )
    assert dataset.ids.shape == (n,)
    if dataset.y is not None:
        assert dataset.y.shape == (n,) and (dataset.y >= 0).all() and (dataset.y < len(dataset.label_names)).all()
    if dataset.groups is not None:
        assert dataset.groups.shape == (n,)
    if dataset.feature_names is not None and dataset.X.ndim == 3:
        assert len(dataset.feature_names) == dataset.X.shape[2]
    if dataset.sample_rate_hz is not None:
        assert np.isfinite(dataset.sample_rate_hz) and dataset.sample_rate_hz > 0
    for key, value in dataset.meta.items():
        assert len(value) == n, key


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per example (pytest's tmp_path is shared by all examples of a test)."""
    with tempfile.TemporaryDirectory(prefix="actrec-fuzz-") as folder:
        yield Path(folder)


# ---- strategies shared by the loaders' tests ----

ODD_FLOATS = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e308, -1e308, 5e-324, 1e20, -1.0, 0.5])
FLOATS = st.one_of(ODD_FLOATS, st.floats(-1e3, 1e3, allow_nan=False), st.integers(-3, 5).map(float))
# text that breaks parsers: separators, quotes, newlines, NUL, non-ASCII and surrogate-free unicode
TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "None",
            "null",
            "?",
            "1e400",
            "0x10",
            "1,2",
            '"',
            "a:b",
            "\x00",
            "é",
            "2024-05-01 10:00:00",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
)
CELLS = st.one_of(FLOATS.map(repr), st.integers(-(10**20), 10**20).map(str), TEXT)


@st.composite
def corrupted(draw: st.DrawFn, content: bytes) -> bytes:
    """`content` as written, or damaged: truncated, a byte flipped, non-UTF-8 bytes inserted, a BOM,
    garbage appended, or replaced by random bytes."""
    how = draw(
        st.sampled_from(["none", "none", "none", "truncate", "flip", "insert", "bom", "append", "random", "empty"])
    )
    if how == "none":
        return content
    if how == "empty":
        return b""
    if how == "random":
        return draw(st.binary(max_size=64))
    at = draw(st.integers(0, max(len(content) - 1, 0)))
    if how == "truncate":
        return content[:at]
    if how == "flip" and content:
        return content[:at] + bytes([content[at] ^ draw(st.integers(1, 255))]) + content[at + 1 :]
    if how == "insert":
        return content[:at] + draw(st.sampled_from([b"\xff\xfe", b"\xc3", b"\x00", b"\x80\x81"])) + content[at:]
    if how == "bom":
        return b"\xef\xbb\xbf" + content
    return content + draw(st.binary(min_size=1, max_size=16))


DTYPES = st.sampled_from(
    ["float32", "float64", "float16", "int64", "int8", "uint8", "bool", "complex64", "<U3", "S2", "datetime64[s]"]
)
ANY_SHAPE = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=3)


def array_of(
    dtypes: st.SearchStrategy[str], shape: st.SearchStrategy[tuple[int, ...]]
) -> st.SearchStrategy[np.ndarray]:
    return st.tuples(dtypes, shape).flatmap(lambda pair: hnp.arrays(pair[0], pair[1]))


def csv_text(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(row) for row in [header, *rows]) + "\n").encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw: st.DrawFn, rows: list[list[str]], cells: st.SearchStrategy[str]) -> list[list[str]]:
    """`rows` as they are (half the time) or with 1-3 defects: a cell replaced by a hostile one, a
    row cut short or made longer, a row repeated or dropped."""
    rows = [list(row) for row in rows]
    if draw(st.booleans()):
        return rows
    for _ in range(draw(st.integers(1, 3))):
        if not rows:
            break
        i = draw(st.integers(0, len(rows) - 1))
        how = draw(st.sampled_from(["cell", "cell", "cut", "extend", "repeat", "drop"]))
        if how == "cell" and rows[i]:
            rows[i][draw(st.integers(0, len(rows[i]) - 1))] = draw(cells)
        elif how == "cut":
            rows[i] = rows[i][: draw(st.integers(0, max(len(rows[i]) - 1, 0)))]
        elif how == "extend":
            rows[i].append(draw(cells))
        elif how == "repeat":
            rows.insert(i, list(rows[i]))
        elif how == "drop":
            rows.pop(i)
    return rows
