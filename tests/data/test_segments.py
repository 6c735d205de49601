"""Segments CSV -> labelled windows, clip folders, `actrec dataset`, and their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.loading import load_dataset
from actrec.data.segments import clips_from_folders, windows_from_segments
from actrec.data.synthetic import write_synthetic
from actrec.errors import DataError
from actrec.io.recording import Recording, save_recording


def write_recording(path, frames: int = 100, fps: float = 10.0) -> Recording:
    """Joint 0's x is the frame number, so a window's first value tells where it starts."""
    keypoints = np.zeros((frames, 17, 2), dtype=np.float32)
    keypoints[:, 0, 0] = np.arange(frames)
    recording = Recording(keypoints, np.ones(frames, bool), fps, np.arange(frames), "coco17", str(path))
    save_recording(path, recording)
    return recording


@pytest.fixture
def tiny(tmp_path):
    write_recording(tmp_path / "recs" / "cam1.npz")
    segments = pd.DataFrame(
        {"video": ["cam1.mp4", "cam1"], "start": [0.0, 3.5], "end": [3.5, 8.0], "label": ["a", "b"]}
    )
    segments.to_csv(tmp_path / "segments.csv", index=False)
    return tmp_path


def test_windows_take_the_label_covering_most_frames(tiny) -> None:
    dataset = windows_from_segments(tiny / "recs", tiny / "segments.csv", window=20, stride=10)
    # windows start at 0..80; 80-99 lies after the last segment (ends at frame 80), 70-89 half covered
    starts = dataset.X[:, 0, 0, 0].astype(int)
    np.testing.assert_array_equal(starts, [0, 10, 20, 30, 40, 50, 60, 70])
    np.testing.assert_array_equal(dataset.labels_as_names(), ["a", "a", "a", "b", "b", "b", "b", "b"])
    assert dataset.X.shape == (8, 20, 17, 2) and dataset.schema == "coco17" and dataset.sample_rate_hz == 10
    assert list(dataset.ids[:2]) == ["cam1@0", "cam1@10"] and set(dataset.groups) == {"cam1"}
    np.testing.assert_allclose(dataset.meta["start_time"][:2], [0.0, 1.0])
    np.testing.assert_allclose(dataset.meta["end_time"][:2], [2.0, 3.0])
    np.testing.assert_array_equal(dataset.meta["end_frame"][:2], [20, 30])


def test_background_labels_uncovered_windows_and_frames_unit(tiny) -> None:
    pd.DataFrame({"video": ["cam1"], "start": [0], "end": [30], "label": ["a"]}).to_csv(
        tiny / "frames.csv", index=False
    )
    dataset = windows_from_segments(
        tiny / "recs", tiny / "frames.csv", window=20, stride=20, unit="frames", background="none"
    )
    np.testing.assert_array_equal(dataset.labels_as_names(), ["a", "a", "none", "none", "none"])
    assert dataset.label_names == ["a", "none"]


def test_synthetic_windows_never_share_a_recording_between_splits(tmp_path) -> None:
    out = write_synthetic(tmp_path / "synthetic", n_recordings=8, seed=0, duration_s=20)
    dataset = windows_from_segments(out / "recordings", out / "segments.csv", window=30, stride=10)
    assert dataset.n_classes == 5
    assert all(sample_id.startswith(f"{group}@") for sample_id, group in zip(dataset.ids, dataset.groups))
    train, test = next(
        GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=0).split(dataset.X, dataset.y, dataset.groups)
    )
    assert not set(dataset.groups[train]) & set(dataset.groups[test])
    for train, test in StratifiedGroupKFold(n_splits=4).split(dataset.X, dataset.y, dataset.groups):
        assert not set(dataset.groups[train]) & set(dataset.groups[test])


def test_clip_folders_give_one_sample_per_file(tmp_path) -> None:
    for label, frames in (("fall", [12, 20]), ("walk", [15])):
        for number, length in enumerate(frames):
            write_recording(tmp_path / "clips" / label / f"{label}{number}.npz", frames=length)
    dataset = clips_from_folders(tmp_path / "clips")
    assert dataset.label_names == ["fall", "walk"]
    np.testing.assert_array_equal(dataset.lengths, [12, 20, 15])
    assert list(dataset.ids) == ["fall/fall0", "fall/fall1", "walk/walk0"]


def test_missing_columns_is_a_one_line_error(tiny) -> None:
    pd.DataFrame({"video": ["cam1"], "begin": [0], "end": [1], "label": ["a"]}).to_csv(tiny / "bad.csv", index=False)
    with pytest.raises(DataError, match="missing column\\(s\\) start") as error:
        windows_from_segments(tiny / "recs", tiny / "bad.csv")
    assert "\n" not in str(error.value)


def test_unknown_video_names_the_row(tiny) -> None:
    pd.DataFrame({"video": ["cam1", "cam9"], "start": [0, 0], "end": [1, 1], "label": ["a", "a"]}).to_csv(
        tiny / "s.csv", index=False
    )
    with pytest.raises(DataError, match=r"s\.csv row 3: video 'cam9' has no recording cam9\.npz"):
        windows_from_segments(tiny / "recs", tiny / "s.csv")


def test_bad_times_name_the_row(tiny) -> None:
    pd.DataFrame({"video": ["cam1"], "start": [2.0], "end": [1.0], "label": ["a"]}).to_csv(tiny / "s.csv", index=False)
    with pytest.raises(DataError, match="row 2: end is not after start"):
        windows_from_segments(tiny / "recs", tiny / "s.csv")
    pd.DataFrame({"video": ["cam1"], "start": ["soon"], "end": [1.0], "label": ["a"]}).to_csv(
        tiny / "s.csv", index=False
    )
    with pytest.raises(DataError, match="row 2: start is not a number"):
        windows_from_segments(tiny / "recs", tiny / "s.csv")


def test_empty_recording_file_is_refused(tiny) -> None:
    np.savez(
        tiny / "recs" / "cam1.npz",
        keypoints=np.zeros((0, 17, 2)),
        present=np.zeros(0, bool),
        fps=10.0,
        frame_index=np.zeros(0),
        schema="coco17",
    )
    with pytest.raises(DataError, match=r"cam1\.npz: recording holds no frames"):
        windows_from_segments(tiny / "recs", tiny / "segments.csv")


def test_unknown_schema_in_a_recording_is_refused_when_featurised(tiny) -> None:
    from actrec.features.keypoints import keypoint_steps

    with pytest.raises(DataError, match="unknown skeleton schema 'octopus8'"):
        keypoint_steps("octopus8")


def test_cli_generate_then_build_writes_a_trainable_npz(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["dataset", "generate", "--out", str(tmp_path / "syn"), "--recordings", "3", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "data.npz"
    args = ["dataset", "build", "--recordings", str(tmp_path / "syn" / "recordings"), "--segments", str(tmp_path / "syn" / "segments.csv"),
            "--window", "30", "--stride", "15", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    dataset = load_dataset(str(out))
    assert dataset.X.shape[1:] == (30, 17, 2) and dataset.schema == "coco17" and len(set(dataset.groups)) == 3
    result = runner.invoke(
        app,
        [
            "dataset",
            "build",
            "--recordings",
            str(tmp_path / "syn" / "recordings"),
            "--segments",
            str(tmp_path / "syn" / "segments.csv"),
            "--clips",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2 and "give either --segments" in result.output
