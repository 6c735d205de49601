"""The per-video keypoint file: round trip and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.errors import DataError
from actrec.io.recording import Recording, load_recording, save_recording


def make_recording(frames: int = 6) -> Recording:
    keypoints = np.arange(frames * 17 * 3, dtype=np.float32).reshape(frames, 17, 3)
    present = np.ones(frames, dtype=bool)
    present[2] = False
    return Recording(keypoints, present, 25.0, np.arange(frames) * 2, "coco17", "video.mp4")


def test_round_trip_keeps_every_field(tmp_path) -> None:
    recording = make_recording()
    save_recording(tmp_path / "video.npz", recording)
    loaded = load_recording(tmp_path / "video.npz")
    np.testing.assert_array_equal(loaded.keypoints, recording.keypoints)
    np.testing.assert_array_equal(loaded.present, recording.present)
    np.testing.assert_array_equal(loaded.frame_index, recording.frame_index)
    assert loaded.fps == 25.0 and loaded.schema == "coco17"
    np.testing.assert_allclose(loaded.times, np.arange(6) * 2 / 25.0)


def test_frames_without_detection_are_nan_not_zero() -> None:
    recording = make_recording()
    assert np.isnan(recording.keypoints[2]).all()
    assert np.isfinite(recording.keypoints[[0, 1, 3]]).all()


def test_empty_recording_is_refused() -> None:
    with pytest.raises(DataError, match="holds no frames"):
        Recording(np.zeros((0, 17, 3)), np.zeros(0, bool), 30.0, np.zeros(0), "coco17", "empty.mp4")


def test_mismatched_present_length_names_the_source() -> None:
    with pytest.raises(DataError, match=r"clip\.mp4: present has 3 rows for 4 frames"):
        Recording(np.zeros((4, 17, 2)), np.ones(3, bool), 30.0, np.arange(4), "coco17", "clip.mp4")


def test_other_npz_or_garbage_gives_one_line_errors(tmp_path) -> None:
    np.savez(tmp_path / "other.npz", X=np.zeros(3))
    with pytest.raises(DataError, match="not a keypoint recording") as error:
        load_recording(tmp_path / "other.npz")
    assert "\n" not in str(error.value)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match=r"broken\.npz"):
        load_recording(tmp_path / "broken.npz")
    with pytest.raises(DataError, match="not found"):
        load_recording(tmp_path / "missing.npz")
