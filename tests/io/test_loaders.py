"""load_dataset dispatch, the .npz layout (round trip with SequenceDataset.to_npz) and .npy --label-last."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.data.dataset import SequenceDataset
from actrec.data.loading import load_dataset
from actrec.errors import DataError


def ragged_dataset(rng: np.random.Generator, keypoints: bool = False) -> SequenceDataset:
    shape = (6, 9, 5, 2) if keypoints else (6, 9, 4)
    lengths = np.array([9, 3, 7, 9, 1, 5])
    X = rng.standard_normal(shape).astype(np.float32)
    X[np.arange(9)[None, :] >= lengths[:, None]] = 0.0
    return SequenceDataset(
        X=X,
        lengths=lengths,
        y=np.array([2, 0, 1, 2, 0, 1]),
        label_names=["walk", "run", "sit"],
        groups=np.array(["s1", "s1", "s2", "s2", "s3", "s3"]),
        ids=np.array(["a", "b", "c", "d", "e", "f"]),
        feature_names=None if keypoints else ["ax", "ay", "az", "gx"],
        sample_rate_hz=None if keypoints else 50.0,
        schema="mediapipe_hand" if keypoints else None,
        meta={"start_s": np.linspace(0, 1, 6), "video": np.array(["v1", "v1", "v2", "v2", "v3", "v3"])},
    )


def assert_same(loaded: SequenceDataset, original: SequenceDataset) -> None:
    np.testing.assert_array_equal(loaded.X, original.X)
    np.testing.assert_array_equal(loaded.lengths, original.lengths)
    np.testing.assert_array_equal(loaded.y, original.y)
    assert loaded.label_names == original.label_names
    np.testing.assert_array_equal(loaded.groups, original.groups)
    np.testing.assert_array_equal(loaded.ids, original.ids)
    assert loaded.feature_names == original.feature_names
    assert loaded.sample_rate_hz == original.sample_rate_hz
    assert loaded.schema == original.schema
    assert set(loaded.meta) == set(original.meta)
    for key, value in original.meta.items():
        np.testing.assert_array_equal(loaded.meta[key], value)


@pytest.mark.parametrize("keypoints", [False, True])
def test_npz_round_trip_keeps_every_field(tmp_path, keypoints):
    original = ragged_dataset(np.random.default_rng(0), keypoints)
    original.to_npz(tmp_path / "data.npz")
    assert_same(load_dataset(str(tmp_path / "data.npz")), original)


def test_npz_without_y_is_unlabelled(tmp_path):
    np.savez(tmp_path / "x.npz", X=np.ones((3, 4, 2)))
    data = load_dataset(tmp_path / "x.npz")
    assert data.y is None
    np.testing.assert_array_equal(data.lengths, [4, 4, 4])


def test_npz_string_labels_become_sorted_label_names(tmp_path):
    np.savez(tmp_path / "s.npz", X=np.zeros((4, 2, 1)), y=np.array(["walk", "run", "walk", "fall"]))
    data = load_dataset(tmp_path / "s.npz")
    assert data.label_names == ["fall", "run", "walk"]
    np.testing.assert_array_equal(data.y, [2, 1, 2, 0])


def test_npz_class_numbers_without_names_sort_numerically(tmp_path):
    np.savez(tmp_path / "n.npz", X=np.zeros((3, 2, 1)), y=np.array([10, 2, 9]))
    data = load_dataset(tmp_path / "n.npz")
    assert data.label_names == ["2", "9", "10"]
    np.testing.assert_array_equal(data.labels_as_names(), ["10", "2", "9"])


def test_label_names_argument_reindexes_a_test_set_to_the_training_order(tmp_path):
    np.savez(tmp_path / "t.npz", X=np.zeros((2, 2, 1)), y=np.array([0, 1]), label_names=np.array(["sit", "run"]))
    data = load_dataset(tmp_path / "t.npz", label_names=["run", "sit", "walk"])
    assert data.label_names == ["run", "sit", "walk"]
    np.testing.assert_array_equal(data.labels_as_names(), ["sit", "run"])


def test_npz_string_labels_follow_the_files_label_names_order(tmp_path):
    np.savez(
        tmp_path / "s.npz", X=np.zeros((2, 2, 1)), y=np.array(["run", "sit"]), label_names=np.array(["sit", "run"])
    )
    assert load_dataset(tmp_path / "s.npz").label_names == ["sit", "run"]


def test_label_unknown_to_training_names_is_refused_naming_the_sample(tmp_path):
    np.savez(tmp_path / "t.npz", X=np.zeros((2, 2, 1)), y=np.array(["run", "jump"]), ids=np.array(["c1", "c2"]))
    with pytest.raises(DataError, match=r"sample c2 has label 'jump', not among the 2 training labels"):
        load_dataset(tmp_path / "t.npz", label_names=["run", "sit"])


def test_npz_object_array_is_refused_without_unpickling(tmp_path):
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.zeros((3, 2)), np.zeros((5, 2))
    np.savez(tmp_path / "ragged.npz", X=ragged, y=np.array([0, 1]))
    with pytest.raises(
        DataError, match=r"ragged.npz: holds an object array .* will not unpickle; save padded X .* 'lengths'"
    ):
        load_dataset(tmp_path / "ragged.npz")


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"y": np.array([0])}, r"no 'X' array \(found y\)"),
        ({"X": np.zeros((3, 4))}, r"X has shape \(3, 4\); expected \[N, T, F\]"),
        ({"X": np.zeros((3, 4, 1)), "y": np.array([0, 1])}, r"'y' has 2 entries for 3 samples"),
        (
            {"X": np.zeros((2, 4, 1)), "y": np.array([0, 5]), "label_names": np.array(["a", "b"])},
            r"sample 1 has label index 5, outside the 2 label_names",
        ),
        ({"X": np.zeros((2, 4, 1)), "lengths": np.array([4, 6])}, r"sample 1 claims 6 steps but X holds 4"),
        (
            {"X": np.zeros((2, 4, 1)), "y": np.array([0.5, 1.0])},
            r"sample 0 has label 0.5; labels must be class numbers",
        ),
    ],
)
def test_bad_npz_contents_are_named(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(tmp_path / "bad.npz")


def test_corrupt_npz_is_a_data_error(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=r"broken.npz: not a readable .npz file"):
        load_dataset(tmp_path / "broken.npz")


def test_npy_label_last_windows(tmp_path):
    rng = np.random.default_rng(1)
    features = rng.standard_normal((5, 30, 4)).astype(np.float32)
    labels = np.array([2.0, 0.0, 1.0, 2.0, 0.0])
    windows = np.concatenate([features, np.repeat(labels[:, None, None], 30, axis=1)], axis=2)
    np.save(tmp_path / "windows.npy", windows)
    data = load_dataset(tmp_path / "windows.npy", label_last=True)
    np.testing.assert_array_equal(data.X, features)
    assert data.label_names == ["0", "1", "2"]
    np.testing.assert_array_equal(data.y, [2, 0, 1, 2, 0])
    np.testing.assert_array_equal(data.lengths, [30] * 5)


def test_npy_label_last_rows_are_one_step_samples(tmp_path):
    rows = np.array([[0.1, 0.2, 1.0], [0.3, 0.4, 0.0], [0.5, 0.6, 1.0]])
    np.save(tmp_path / "rows.npy", rows)
    data = load_dataset(tmp_path / "rows.npy", label_last=True)
    assert data.X.shape == (3, 1, 2)
    np.testing.assert_array_equal(data.labels_as_names(), ["1", "0", "1"])


def test_npy_label_changing_inside_a_window_names_the_sample(tmp_path):
    windows = np.zeros((3, 10, 3))
    windows[2, 6:, -1] = 4.0
    np.save(tmp_path / "mixed.npy", windows)
    with pytest.raises(
        DataError, match=r"sample 2 changes label from 0.0 to 4.0 at step 6; --label-last needs one label per window"
    ):
        load_dataset(tmp_path / "mixed.npy", label_last=True)


def test_npy_without_label_last_is_unlabelled(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 5, 3)))
    data = load_dataset(tmp_path / "x.npy")
    assert data.y is None and data.X.shape == (2, 5, 3)


def test_npy_rows_without_label_last_point_to_the_flag(tmp_path):
    np.save(tmp_path / "rows.npy", np.ones((4, 3)))
    with pytest.raises(DataError, match=r"shape \(4, 3\); .*pass --label-last"):
        load_dataset(tmp_path / "rows.npy")


def test_npy_object_array_is_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([np.zeros(2), np.zeros(3)], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"obj.npy: holds an object array, which actrec will not unpickle"):
        load_dataset(tmp_path / "obj.npy", label_last=True)


def test_npy_that_is_not_an_npy_file_is_a_data_error(tmp_path):
    np.savez(tmp_path / "zipped.npz", X=np.zeros((1, 2, 1)))
    (tmp_path / "zipped.npz").rename(tmp_path / "zipped.npy")
    with pytest.raises(DataError, match=r"zipped.npy: not a .npy file; it is an .npz archive, rename it"):
        load_dataset(tmp_path / "zipped.npy")


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(
        DataError, match=r"data.parquet: unknown data format '.parquet'; use one of .npz, .npy, .csv, .ts"
    ):
        load_dataset(tmp_path / "data.parquet")
    with pytest.raises(DataError, match=r"nowhere.npz: file not found; check the --data path"):
        load_dataset(tmp_path / "nowhere.npz")


def test_options_that_do_not_fit_the_format_are_refused(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((1, 2, 1)))
    with pytest.raises(DataError, match=r"--labels goes with a long CSV"):
        load_dataset(tmp_path / "d.npz", labels=tmp_path / "labels.csv")
    with pytest.raises(DataError, match=r"--label-last goes with a .npy file"):
        load_dataset(tmp_path / "d.npz", label_last=True)
