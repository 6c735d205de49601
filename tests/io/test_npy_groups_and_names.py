"""A `.npy` of windows with the label last gets its group ids and class names from beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actrec.data.loading import load_dataset
from actrec.data.splits import holdout_split, no_groups_note
from actrec.errors import DataError


def windows(tmp_path: Path, n: int = 24) -> Path:
    """`[n, 5, 3+1]` windows, label (0, 1, 2) in the last column; 4 windows per video."""
    X = np.random.default_rng(0).normal(size=(n, 5, 4)).astype(np.float32)
    X[:, :, -1] = (np.arange(n) // 4 % 3)[:, None]
    np.save(tmp_path / "signs.npy", X)
    (tmp_path / "videos.txt").write_text("".join(f"video{i // 4}\n" for i in range(n)))
    return tmp_path / "signs.npy"


def test_groups_file_keeps_each_video_on_one_side_of_the_split(tmp_path: Path):
    data = load_dataset(windows(tmp_path), label_last=True, groups=tmp_path / "videos.txt")
    assert list(data.groups[:5]) == ["video0"] * 4 + ["video1"]
    keep, hold = holdout_split(data, 0.3, seed=0)
    assert not set(data.groups[keep]) & set(data.groups[hold])
    assert no_groups_note(data) is None


def test_label_names_name_the_class_numbers_in_order(tmp_path: Path):
    data = load_dataset(windows(tmp_path), label_last=True, class_names=["hello", "thanks", "yes"])
    assert data.label_names == ["hello", "thanks", "yes"]
    assert list(data.labels_as_names()[[0, 4, 8, 12]]) == ["hello", "thanks", "yes", "hello"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"class_names": ["hello", "thanks"]}, "sample 8 has class 2 but --label-names gives 2 names"),
        ({"groups": "short.txt"}, "3 group ids for the 24 windows"),
        ({"groups": "absent.txt"}, "groups file not found"),
    ],
)
def test_mismatches_are_one_line_errors(tmp_path: Path, kwargs: dict, message: str):
    path = windows(tmp_path)
    (tmp_path / "short.txt").write_text("a\nb\nc\n")
    if "groups" in kwargs:
        kwargs = {"groups": tmp_path / kwargs["groups"]}
    with pytest.raises(DataError, match=message) as error:
        load_dataset(path, label_last=True, **kwargs)
    assert "\n" not in str(error.value)


def test_a_dataset_without_groups_is_flagged(tmp_path: Path):
    note = no_groups_note(load_dataset(windows(tmp_path), label_last=True))
    assert note is not None and "signs.npy has no groups" in note and "--groups" in note
