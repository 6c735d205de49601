"""Long CSV `id,time,<features>` + labels CSV -> SequenceDataset, and each bad input's message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actrec.data.loading import load_dataset
from actrec.errors import DataError

CHANNELS = ["acc_x", "acc_y", "gyr_z"]
LENGTHS = {"007": 5, "12": 3, "b3": 4}


def expected_values(sample: str) -> np.ndarray:
    """Deterministic `[T, 3]` values for one id, so the test knows what X must hold."""
    steps = np.arange(LENGTHS[sample], dtype=np.float32)[:, None]
    offset = float(list(LENGTHS).index(sample))
    return steps * np.array([1.0, 10.0, 100.0], dtype=np.float32) + offset


def write_features(folder: Path, shuffle: bool = True, period_s: float = 0.02) -> Path:
    frames = []
    for sample, length in LENGTHS.items():
        frame = pd.DataFrame(expected_values(sample), columns=CHANNELS)
        frame.insert(0, "time", np.round(np.arange(length) * period_s, 6))
        frame.insert(0, "id", sample)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    if shuffle:
        table = table.sample(frac=1.0, random_state=0)
    path = folder / "features.csv"
    table.to_csv(path, index=False)
    return path


def write_labels(folder: Path, rows: list[tuple]) -> Path:
    path = folder / "labels.csv"
    pd.DataFrame(rows, columns=["id", "label", "label_desc", "group"]).to_csv(path, index=False)
    return path


LABEL_ROWS = [("b3", 10, "wave", "s2"), ("007", 2, "clap", "s1"), ("12", 10, "wave", "s1")]


def test_long_csv_sorts_by_time_pads_ragged_ids_and_reads_labels(tmp_path):
    features = write_features(tmp_path, shuffle=True)
    data = load_dataset(features, labels=write_labels(tmp_path, LABEL_ROWS))
    order = list(data.ids)
    assert sorted(order) == sorted(LENGTHS)
    assert data.X.shape == (3, 5, 3)
    for i, sample in enumerate(order):
        assert data.lengths[i] == LENGTHS[sample]
        np.testing.assert_array_equal(data.X[i, : LENGTHS[sample]], expected_values(sample))
        assert not data.X[i, LENGTHS[sample] :].any()
    assert data.feature_names == CHANNELS
    assert data.sample_rate_hz == 50.0
    assert data.label_names == ["clap", "wave"]  # label_desc names the classes, in label number order (2, 10)
    by_id = {sample: (label, desc, group) for sample, label, desc, group in LABEL_ROWS}
    for i, sample in enumerate(order):
        _, desc, group = by_id[sample]
        assert data.labels_as_names()[i] == desc
        assert data.groups[i] == group
        assert data.meta["label_desc"][i] == desc


def test_ids_keep_their_text_and_file_order(tmp_path):
    data = load_dataset(write_features(tmp_path, shuffle=False))
    assert list(data.ids) == ["007", "12", "b3"]


def test_without_labels_the_dataset_is_unlabelled(tmp_path):
    data = load_dataset(write_features(tmp_path))
    assert data.y is None and data.n_samples == 3


def test_integer_time_is_read_as_step_indices_without_a_sample_rate(tmp_path):
    path = tmp_path / "steps.csv"
    path.write_text("id,time,x\n1,2,0.5\n1,0,0.1\n1,1,0.3\n")
    data = load_dataset(path)
    assert data.sample_rate_hz is None
    np.testing.assert_allclose(data.X[0, :, 0], [0.1, 0.3, 0.5])


def test_iso_timestamps_give_the_sample_rate(tmp_path):
    path = tmp_path / "dated.csv"
    path.write_text("id,time,x\na,2024-05-01 10:00:00.00,1\na,2024-05-01 10:00:00.10,2\na,2024-05-01 10:00:00.20,3\n")
    assert load_dataset(path).sample_rate_hz == pytest.approx(10.0, rel=1e-6)


def test_csv_dataset_survives_an_npz_round_trip(tmp_path):
    data = load_dataset(write_features(tmp_path), labels=write_labels(tmp_path, LABEL_ROWS))
    data.to_npz(tmp_path / "saved.npz")
    again = load_dataset(tmp_path / "saved.npz")
    np.testing.assert_array_equal(again.X, data.X)
    np.testing.assert_array_equal(again.labels_as_names(), data.labels_as_names())
    np.testing.assert_array_equal(again.meta["label_desc"], data.meta["label_desc"])
    assert again.sample_rate_hz == pytest.approx(data.sample_rate_hz)


def test_test_set_reuses_training_label_names(tmp_path):
    data = load_dataset(
        write_features(tmp_path), labels=write_labels(tmp_path, LABEL_ROWS), label_names=["10", "2", "5"]
    )
    assert data.label_names == ["10", "2", "5"]
    with pytest.raises(DataError, match=r"labels.csv: sample 007 has label '2', not among the 1 training labels"):
        load_dataset(tmp_path / "features.csv", labels=tmp_path / "labels.csv", label_names=["10"])


def write_text(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"features.csv: file is empty"),
        ("id,time,x\n", r"features.csv: has a header but no rows"),
        (
            "sample,time,x\n1,0.0,1.0\n",
            r"features.csv: no 'id' column \(found sample, time, x\); the file needs columns id,time",
        ),
        ("id,t,x\n1,0.0,1.0\n", r"features.csv: no 'time' column"),
        ("id,time\n1,0.0\n", r"only 'id' and 'time' columns; add at least one feature column"),
        ("id,time,x,y\n1,0.0,1.0,2\n1,0.1,oops,3\n", r"features.csv line 3 column 'x': 'oops' is not a number"),
        (
            "id,time,x,y\n1,0.0,1.0,2\n2,0.1,,3\n",
            r"features.csv line 3: id 2 time 0.1 column 'x' is nan; fill or drop missing values",
        ),
        ("id,time,x,y\n1,0.0,1.0,2\n2,0.5,1.0,inf\n", r"features.csv line 3: id 2 time 0.5 column 'y' is inf"),
        ("id,time,x\n1,0.0,1.0\n1,,2.0\n", r"features.csv line 3: id 1 has no valid time"),
        (
            "id,time,x\n1,0.0,1.0\n1,0.0,2.0\n",
            r"features.csv: id 1 has two rows at time 0; keep one row per id and time",
        ),
        ("id,time,x\n1,0.0,1.0\n1,0.1\n", r"features.csv: not a readable CSV \(CSV parse error"),
        ("id,time,x\n1,0.0,1.0\n,0.1,2.0\n", r"features.csv line 3: empty 'id'; give every row an id"),
    ],
)
def test_bad_feature_files_get_one_line_naming_the_fault(tmp_path, text, message):
    with pytest.raises(DataError, match=message) as caught:
        load_dataset(write_text(tmp_path, "features.csv", text))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"labels.csv: file is empty"),
        ("id,class\n007,1\n", r"labels.csv: no 'label' column"),
        (
            "id,label\n007,1\n12,2\nb3,1\n404,3\n405,3\n406,3\n407,3\n",
            r"labels.csv: ids 404, 405, 406 \(4 in all\) have no rows in .*features.csv; remove them from the labels file",
        ),
        ("id,label\n007,1\n", r"features.csv: ids 12, b3 have no label in .*labels.csv; add rows for them"),
        (
            "id,label\n007,1\n12,2\n007,2\nb3,1\n",
            r"labels.csv: id 007 appears on lines 2 and 4; keep one label row per id",
        ),
        ("id,label\n007,1\n12,\nb3,1\n", r"labels.csv: sample 12 has no label"),
        ("id,label,group\n007,1,s1\n12,2,\nb3,1,s2\n", r"labels.csv: id 12 has no group; fill the group column"),
    ],
)
def test_bad_label_files_get_one_line_naming_the_fault(tmp_path, text, message):
    features = write_features(tmp_path)
    with pytest.raises(DataError, match=message):
        load_dataset(features, labels=write_text(tmp_path, "labels.csv", text))


def test_missing_labels_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nope.csv: labels file not found; check the --labels path"):
        load_dataset(write_features(tmp_path), labels=tmp_path / "nope.csv")
