"""The embedded synthetic keypoint dataset: deterministic, varied, with realistic misses."""

from __future__ import annotations

import numpy as np

from actrec.data.synthetic import ACTIVITIES, generate_recordings, write_synthetic
from actrec.io.recording import load_recording
from actrec.skeletons import get_schema


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, segments = generate_recordings(2, seed=5, duration_s=10)
    second, segments_again = generate_recordings(2, seed=5, duration_s=10)
    other, _ = generate_recordings(2, seed=6, duration_s=10)
    np.testing.assert_array_equal(first[1].keypoints, second[1].keypoints)
    assert segments.equals(segments_again)
    assert not np.array_equal(first[0].keypoints, other[0].keypoints, equal_nan=True)


def test_recordings_are_coco17_with_segments_covering_them() -> None:
    recordings, segments = generate_recordings(6, seed=0, duration_s=30)
    assert set(segments["label"]) == set(ACTIVITIES)
    for recording in recordings:
        assert recording.keypoints.shape == (900, 17, 2) and recording.schema == "coco17"
        rows = segments[segments["video"] == recording.source].sort_values("start")
        assert rows["start"].iloc[0] == 0 and rows["end"].iloc[-1] == 30
        np.testing.assert_allclose(rows["start"].to_numpy()[1:], rows["end"].to_numpy()[:-1])


def test_missing_joints_and_missing_frames_are_nan() -> None:
    recordings, _ = generate_recordings(6, seed=1, duration_s=30)
    missing = np.mean([np.isnan(r.keypoints).mean() for r in recordings])
    assert 0.005 < missing < 0.2
    assert any((~r.present).any() for r in recordings)
    for recording in recordings:
        assert np.isnan(recording.keypoints[~recording.present]).all()


def test_bodies_and_cameras_vary_between_recordings() -> None:
    recordings, _ = generate_recordings(8, seed=2, duration_s=10)
    coco = get_schema("coco17")
    shoulder, hip = coco.joints.index("left_shoulder"), coco.joints.index("left_hip")
    torso = [np.nanmedian(np.linalg.norm(r.keypoints[:, shoulder] - r.keypoints[:, hip], axis=-1)) for r in recordings]
    centre = [np.nanmedian(r.keypoints[..., 0]) for r in recordings]
    assert np.std(torso) / np.mean(torso) > 0.1
    assert np.std(centre) > 30


def test_falls_end_lower_than_standing() -> None:
    recordings, segments = generate_recordings(10, seed=3, duration_s=30)
    coco = get_schema("coco17")
    nose, ankle = coco.joints.index("nose"), coco.joints.index("left_ankle")
    height = {"fall": [], "stand": []}
    for recording in recordings:
        for row in segments[segments["video"] == recording.source].itertuples():
            if row.label in height:
                last = int(row.end * recording.fps) - 1
                frames = recording.keypoints[last - 5 : last, [nose, ankle], 1]
                distance = np.abs(frames[:, 1] - frames[:, 0])
                if np.isfinite(distance).any():
                    height[row.label].append(np.nanmean(distance))
    assert np.median(height["fall"]) < 0.6 * np.median(height["stand"])


def test_write_synthetic_layout(tmp_path) -> None:
    out = write_synthetic(tmp_path / "demo", n_recordings=2, seed=0, duration_s=5)
    files = sorted((out / "recordings").glob("*.npz"))
    assert [f.stem for f in files] == ["synthetic_000", "synthetic_001"]
    assert load_recording(files[0]).keypoints.shape == (150, 17, 2)
    assert (out / "segments.csv").read_text().startswith("video,start,end,label")
