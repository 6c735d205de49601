"""UEA/UCR `.ts` files: synthetic ones written here, and real ones shipped inside the aeon package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from actrec.data.loading import load_dataset
from actrec.errors import DataError

UNIVARIATE = """# a comment
@problemName Toy
@timeStamps false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true up down
@data
1.0,2.0,3.0,4.0:up
4,3,2,1:down
0.5,?,1.5,2.5:up
"""

MULTIVARIATE_UNEQUAL = """@problemName ToyMulti
@univariate false
@dimensions 2
@equalLength false
@classLabel true b a
@data
1,2,3:10,20,30:a
4,5:40,50:b
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_univariate_equal_length_with_missing_values(tmp_path):
    data = load_dataset(write(tmp_path, "Toy_TRAIN.ts", UNIVARIATE))
    assert data.X.shape == (3, 4, 1)
    np.testing.assert_array_equal(data.X[0, :, 0], [1, 2, 3, 4])
    assert np.isnan(data.X[2, 1, 0])
    assert data.label_names == ["up", "down"]
    np.testing.assert_array_equal(data.labels_as_names(), ["up", "down", "up"])
    assert data.feature_names == ["dim_0"]


def test_multivariate_unequal_length_is_padded_not_truncated(tmp_path):
    data = load_dataset(write(tmp_path, "ToyMulti_TRAIN.ts", MULTIVARIATE_UNEQUAL))
    assert data.X.shape == (2, 3, 2)
    np.testing.assert_array_equal(data.lengths, [3, 2])
    np.testing.assert_array_equal(data.X[0], [[1, 10], [2, 20], [3, 30]])
    np.testing.assert_array_equal(data.X[1], [[4, 40], [5, 50], [0, 0]])
    assert data.label_names == ["b", "a"], "label order comes from the @classLabel header"


def test_test_file_keeps_the_header_label_order_even_when_a_class_is_absent(tmp_path):
    test_text = MULTIVARIATE_UNEQUAL.replace("1,2,3:10,20,30:a\n", "")
    train = load_dataset(write(tmp_path, "ToyMulti_TRAIN.ts", MULTIVARIATE_UNEQUAL))
    test = load_dataset(write(tmp_path, "ToyMulti_TEST.ts", test_text), label_names=train.label_names)
    assert test.label_names == train.label_names
    np.testing.assert_array_equal(test.y, [0])


def test_unlabelled_file(tmp_path):
    text = UNIVARIATE.replace("@classLabel true up down", "@classLabel false").replace(":up", "").replace(":down", "")
    data = load_dataset(write(tmp_path, "Toy.ts", text))
    assert data.y is None and data.X.shape == (3, 4, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            UNIVARIATE.replace("0.5,?,1.5,2.5:up", "0.5,?,1.5,2.5:left"),
            r"line 11: label 'left' is not declared in @classLabel",
        ),
        (
            UNIVARIATE.replace("4,3,2,1:down", "4,3,x,1:down"),
            r"line 10 dimension 0: 'x' is not a number; use '\?' for missing values",
        ),
        (MULTIVARIATE_UNEQUAL.replace("4,5:40,50:b", "4,5:b"), r"line 8: 1 dimensions, but the first case has 2"),
        (
            MULTIVARIATE_UNEQUAL.replace("4,5:40,50:b", "4,5:40:b"),
            r"line 8: dimensions have different lengths \(2, 1\)",
        ),
        (UNIVARIATE.replace("@data\n", ""), r"line 8: data before '@data'"),
        ("@problemName Empty\n@classLabel true a\n@data\n", r"no cases after '@data'"),
        ("@problemName X\n@classLabel true a\n", r"no '@data' line; is this a UEA/UCR .ts file\?"),
        (
            UNIVARIATE.replace("@timeStamps false", "@timeStamps true"),
            r"line 3: time-stamped .ts files are not supported",
        ),
        (UNIVARIATE.replace("@classLabel true up down", "@targetLabel true"), r"regression file \(@targetLabel\)"),
    ],
)
def test_bad_ts_files_name_the_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_dataset(write(tmp_path, "bad.ts", text))


def aeon_data_dir() -> Path:
    spec = importlib.util.find_spec("aeon")
    if spec is None or spec.origin is None:
        pytest.skip(
            "aeon is not installed (pip install 'actrec[benchmarks]'); its shipped .ts files are the real-data check"
        )
    return Path(spec.origin).parent / "datasets" / "data"


@pytest.mark.parametrize(
    ("name", "n_cases", "n_dims", "equal_length"),
    [
        ("BasicMotions/BasicMotions_TRAIN.ts", 40, 6, True),
        ("PickupGestureWiimoteZ/PickupGestureWiimoteZ_TRAIN.ts", 50, 1, False),
        ("JapaneseVowels/JapaneseVowels_TRAIN.ts", 270, 12, False),
    ],
)
def test_real_uea_files_match_aeons_own_loader(name, n_cases, n_dims, equal_length):
    from aeon.datasets import load_from_ts_file

    path = aeon_data_dir() / name
    data = load_dataset(path)
    X_aeon, y_aeon = load_from_ts_file(str(path))
    assert data.n_samples == n_cases and data.X.shape[2] == n_dims
    if equal_length:
        np.testing.assert_allclose(data.X, np.asarray(X_aeon).transpose(0, 2, 1), rtol=1e-6)
    else:
        assert len(set(data.lengths.tolist())) > 1
        for i, series in enumerate(X_aeon):
            assert data.lengths[i] == series.shape[1]
            np.testing.assert_allclose(data.X[i, : data.lengths[i]], series.T, rtol=1e-6)
    # aeon lower-cases labels; actrec keeps them as written
    np.testing.assert_array_equal(np.char.lower(data.labels_as_names().astype(str)), np.asarray(y_aeon))


def test_real_train_and_test_share_label_order():
    folder = aeon_data_dir() / "BasicMotions"
    train = load_dataset(folder / "BasicMotions_TRAIN.ts")
    test = load_dataset(folder / "BasicMotions_TEST.ts", label_names=train.label_names)
    assert train.label_names == test.label_names == ["Standing", "Running", "Walking", "Badminton"]
    assert set(test.y.tolist()) == {0, 1, 2, 3}
