"""Recordings with a person axis: round trip, per-person views, and windows cut per track."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.data.segments import windows_from_segments
from actrec.errors import DataError
from actrec.io.recording import Recording, load_recording, save_recording


def two_people(frames: int = 40) -> Recording:
    """Track 3 seen on every frame; track 8 arrives at frame 10 and leaves after frame 29."""
    keypoints = np.random.default_rng(0).normal(size=(frames, 2, 17, 3)).astype(np.float32)
    present = np.ones((frames, 2), dtype=bool)
    present[:10, 1] = present[30:, 1] = False
    return Recording(keypoints, present, 10.0, np.arange(frames), "coco17", "hall.mp4", track_id=np.array([3, 8]))


def test_people_round_trip_and_single_person_files_keep_their_layout(tmp_path) -> None:
    save_recording(tmp_path / "hall.npz", two_people())
    loaded = load_recording(tmp_path / "hall.npz")
    assert loaded.keypoints.shape == (40, 2, 17, 3) and loaded.present.shape == (40, 2)
    assert loaded.track_id.tolist() == [3, 8] and loaded.has_people_axis
    assert np.isnan(loaded.keypoints[:10, 1]).all() and np.isfinite(loaded.keypoints[10:30, 1]).all()
    people = loaded.people()
    assert [track for track, _ in people] == [3, 8]
    assert people[1][1].keypoints.shape == (40, 17, 3) and people[1][1].present.sum() == 20
    single = Recording(np.zeros((5, 17, 3)), np.ones(5, bool), 10.0, np.arange(5), "coco17")
    save_recording(tmp_path / "one.npz", single)
    one = load_recording(tmp_path / "one.npz")
    assert one.keypoints.shape == (5, 17, 3) and one.track_id is None and one.people() == [(None, one)]


def test_person_axis_needs_matching_track_ids_and_presence() -> None:
    with pytest.raises(DataError, match="track_id"):
        Recording(np.zeros((4, 2, 17, 3)), np.ones((4, 2), bool), 10.0, np.arange(4), "coco17")
    with pytest.raises(DataError, match=r"2 people need track_id \[2\] and present \[4, 2\]"):
        Recording(np.zeros((4, 2, 17, 3)), np.ones(4, bool), 10.0, np.arange(4), "coco17", track_id=[1, 2])
    with pytest.raises(DataError, match="repeat"):
        Recording(np.zeros((4, 2, 17, 3)), np.ones((4, 2), bool), 10.0, np.arange(4), "coco17", track_id=[1, 1])


def test_dataset_build_cuts_windows_per_track_grouped_by_recording_and_track(tmp_path) -> None:
    (tmp_path / "rec").mkdir()
    save_recording(tmp_path / "rec" / "hall.npz", two_people())
    (tmp_path / "segments.csv").write_text("video,start,end,label,track\nhall,0,40,walk,\nhall,10,30,wave,8\n")
    dataset = windows_from_segments(tmp_path / "rec", tmp_path / "segments.csv", window=10, stride=10, unit="frames")
    assert sorted(set(dataset.groups)) == ["hall#track3", "hall#track8"]
    by_id = {sample_id: dataset.label_names[label] for sample_id, label in zip(dataset.ids, dataset.y)}
    # track 3 walks in all four windows; track 8 waves in the two windows where it is seen
    assert by_id == {
        "hall#track3@0": "walk",
        "hall#track3@10": "walk",
        "hall#track3@20": "walk",
        "hall#track3@30": "walk",
        "hall#track8@10": "wave",
        "hall#track8@20": "wave",
    }
    assert dataset.X.shape[1:] == (10, 17, 3)
