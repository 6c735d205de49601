"""Fuzz the text loaders: long CSV + labels CSV, one streamed CSV session, and UEA/UCR `.ts`.

Files are put together from plausible parts (headers with missing, repeated or extra columns;
ids that repeat, are empty or unknown; times as integers, seconds, ISO dates or garbage; values
NaN, inf, 1e400 or text; rows of the wrong width), then maybe damaged (truncated, non-UTF-8
bytes, a BOM). See fuzzing.py for the property and ACTREC_FUZZ_EXAMPLES.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actrec.data.loading import load_dataset
from actrec.io.session import read_session
from tests.fuzz.fuzzing import (
    CELLS,
    FLOATS,
    TEXT,
    check_dataset,
    corrupted,
    csv_text,
    fuzz_settings,
    loads_or_fails_cleanly,
    mutated,
    scratch,
)

IDS = st.sampled_from(["1", "2", "007", "a", "", " ", "x y", "1.0"])
TIMES = st.one_of(
    st.integers(-2, 6).map(str),
    st.sampled_from(
        ["0.0", "0.02", "0.04", "1e-9", "2024-05-01 10:00:00", "2024-05-01 10:00:00.02", "nan", "", "-0.5", "1e300"]
    ),
    FLOATS.map(repr),
    TEXT,
)
CLEAN_VALUE = st.floats(-1e3, 1e3).map(repr)
TS_VALUE = st.one_of(CLEAN_VALUE, CLEAN_VALUE, CLEAN_VALUE, st.just("?"))
VALUES = st.one_of(FLOATS.map(repr), FLOATS.map(repr), st.integers(-5, 5).map(str), CELLS)


@st.composite
def features_csv(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """(file content, the ids it holds): a clean long CSV, or one with defects."""
    header = draw(
        st.one_of(
            *[
                st.sampled_from(
                    [["id", "time", "a", "b"], ["id", "time", "a"], ["time", "id", "x"], ["id", "time", "a", "b", "x"]]
                )
            ]
            * 4,
            st.lists(st.sampled_from(["id", "time", "a", "b", "", "label", "id "]), max_size=5),
        )
    )
    ids = draw(st.lists(st.sampled_from(["1", "2", "007", "a"]), min_size=1, max_size=3, unique=True))
    clock = draw(st.sampled_from(["steps", "seconds", "iso"]))
    rows = []
    for id_ in ids:
        for step in range(draw(st.integers(1, 4))):
            time = {"steps": str(step), "seconds": repr(step * 0.02), "iso": f"2024-05-01 10:00:{step:02d}.5"}[clock]
            cells = {"id": id_, "time": time}
            rows.append([cells.get(name) or draw(CLEAN_VALUE) for name in header])
    rows = draw(st.permutations(rows)) if draw(st.booleans()) else rows
    rows = draw(mutated(rows, st.one_of(IDS, TIMES, VALUES)))
    return csv_text(header, rows), ids


@st.composite
def labels_csv(draw: st.DrawFn, ids: list[str]) -> bytes:
    header = draw(
        st.one_of(
            *[st.sampled_from([["id", "label"], ["id", "label", "group"], ["id", "label", "group", "desc"]])] * 4,
            st.lists(st.sampled_from(["id", "label", "group", "desc", ""]), max_size=4),
        )
    )
    rows = []
    for id_ in ids:
        cells = {
            "id": id_,
            "label": draw(st.sampled_from(["walk", "run", "3"])),
            "group": draw(st.sampled_from(["s1", "s2"])),
        }
        rows.append([cells.get(name) or draw(st.sampled_from(["x", "1.5", "7"])) for name in header])
    rows = draw(mutated(rows, st.one_of(IDS, TEXT, st.just("walk"))))
    return draw(corrupted(csv_text(header, rows)))


@fuzz_settings(300)
@given(features=features_csv(), data=st.data())
def test_long_csv_with_labels_loads_or_fails_in_one_line(features, data):
    content, ids = features
    with scratch() as folder:
        path, labels = folder / "features.csv", None
        path.write_bytes(data.draw(corrupted(content)))
        if data.draw(st.booleans()):
            labels = folder / "labels.csv"
            labels.write_bytes(data.draw(labels_csv(ids)))
        label_names = data.draw(
            st.one_of(st.none(), st.none(), st.lists(st.sampled_from(["walk", "run", "3", ""]), max_size=3))
        )
        dataset = loads_or_fails_cleanly(
            lambda: load_dataset(path, labels=labels, label_names=label_names), path, *([labels] if labels else [])
        )
        if dataset is not None:
            check_dataset(dataset)


@fuzz_settings(150)
@given(features=features_csv(), data=st.data())
def test_streamed_csv_session_reads_or_fails_in_one_line(features, data):
    content, _ = features
    names = data.draw(st.one_of(st.none(), st.just(["a", "b"]), st.just(["x"])))
    n_features = data.draw(st.one_of(st.none(), st.integers(0, 3)))
    sequence_id = data.draw(st.one_of(st.none(), IDS))
    with scratch() as folder:
        path = folder / "session.csv"
        path.write_bytes(data.draw(corrupted(content)))
        session = loads_or_fails_cleanly(lambda: read_session(path, names, n_features, sequence_id), path)
        if session is not None:
            assert session.values.shape[0] == session.times.shape[0] >= 1
            assert (session.times[1:] > session.times[:-1]).all()


@st.composite
def ts_text(draw: st.DrawFn) -> bytes:
    """A clean `.ts` file (uni- or multivariate, equal or unequal lengths, labelled or not), or one
    with defects in its header lines or cases."""
    labels = draw(st.lists(st.sampled_from(["a", "b", "Walk", "1"]), min_size=1, max_size=3, unique=True))
    labelled = draw(st.booleans())
    n_dims = draw(st.integers(1, 3))
    headers = [
        "@problemName fuzz",
        f"@univariate {str(n_dims == 1).lower()}",
        f"@dimensions {n_dims}",
        "@equalLength false",
        f"@classLabel {str(labelled).lower()} {' '.join(labels) if labelled else ''}".strip(),
        "@data",
    ]
    cases = []
    for _ in range(draw(st.integers(1, 4))):
        steps = draw(st.integers(1, 4))
        dims = [",".join(draw(TS_VALUE) for _ in range(steps)) for _ in range(n_dims)]
        cases.append(dims + ([draw(st.sampled_from(labels))] if labelled else []))
    header_pool = st.one_of(
        st.sampled_from(
            ["@timeStamps true", "@targetLabel true", "@classLabel", "@", "@ ", "# comment", "", "@classLabel true"]
        ),
        TEXT.map(lambda t: "@" + t),
        TEXT,
    )
    header_rows = draw(mutated([[line] for line in headers], header_pool))
    case_rows = [[":".join(row)] for row in draw(mutated(cases, st.one_of(VALUES, st.just("?"), st.just("1,2"), TEXT)))]
    lines = [",".join(row) for row in header_rows + case_rows]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


@fuzz_settings(300)
@given(content=ts_text(), data=st.data())
def test_ts_loads_or_fails_in_one_line(content, data):
    label_names = data.draw(st.one_of(st.none(), st.none(), st.lists(st.sampled_from(["a", "b", "Walk"]), max_size=3)))
    with scratch() as folder:
        path = folder / "fuzz_TRAIN.ts"
        path.write_bytes(data.draw(corrupted(content)))
        dataset = loads_or_fails_cleanly(lambda: load_dataset(path, label_names=label_names), path)
        if dataset is not None:
            check_dataset(dataset)
