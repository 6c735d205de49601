"""`actrec import`: folders of OpenPose / COCO / MediaPipe files become one recording each, bad
files are reported in one line and skipped, and recordings without frame_index still load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from actrec.cli import app
from actrec.io.recording import load_recording

runner = CliRunner()


def openpose_frame(x: float) -> dict:
    body = [v for k in range(25) for v in (x + k, 2 * (x + k), 0.9)]
    return {"version": 1.3, "people": [{"pose_keypoints_2d": body}]}


def write_openpose_video(folder: Path, frames: int, start: float = 0.0) -> None:
    folder.mkdir(parents=True)
    for number in range(frames):
        people = openpose_frame(start + number) if number != 1 else {"version": 1.3, "people": []}
        (folder / f"{folder.name}_{number:012d}_keypoints.json").write_text(json.dumps(people))


def test_openpose_folders_become_one_recording_each_and_a_bad_one_is_skipped(tmp_path: Path):
    source = tmp_path / "openpose"
    write_openpose_video(source / "walk", 4)
    write_openpose_video(source / "sub" / "fall", 3, start=50.0)
    write_openpose_video(source / "broken", 2)
    (source / "broken" / "broken_000000000001_keypoints.json").write_text('{"people": [')  # truncated
    result = runner.invoke(
        app,
        [
            "import",
            "openpose",
            str(source),
            "--out",
            str(tmp_path / "rec"),
            "--fps",
            "25",
            "--schema",
            "openpose_body25",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "[1/3] [red]" not in result.output  # markup rendered, not printed
    failed = [
        line for line in result.output.splitlines() if "failed" in line and "broken_000000000001_keypoints.json" in line
    ]
    assert len(failed) == 1 and "not valid JSON" in failed[0]
    assert "2 of 3 recordings written" in result.output
    walk = load_recording(tmp_path / "rec" / "walk.npz")
    assert walk.keypoints.shape == (4, 25, 3) and walk.fps == 25 and walk.schema == "openpose_body25"
    np.testing.assert_array_equal(walk.present, [True, False, True, True])
    fall = load_recording(tmp_path / "rec" / "sub" / "fall.npz")
    assert fall.keypoints[0, 0, 0] == 50.0
    assert not (tmp_path / "rec" / "broken.npz").exists()


def test_coco_and_mediapipe_files_in_a_folder(tmp_path: Path):
    source = tmp_path / "files"
    source.mkdir()
    detections = [
        {"image_id": i, "keypoints": [v for k in range(17) for v in (k, k, 1.0)], "score": 0.9} for i in (0, 1, 3)
    ]
    (source / "a.json").write_text(json.dumps(detections))
    (source / "b.json").write_text('[{"image_id": 0}]')  # no keypoints: reported, skipped
    result = runner.invoke(app, ["import", "coco", str(source), "--out", str(tmp_path / "coco")])
    assert result.exit_code == 2 and "b.json: entry 0 has no 'keypoints'" in result.output
    np.testing.assert_array_equal(load_recording(tmp_path / "coco" / "a.npz").frame_index, [0, 1, 2, 3])

    frames = [[{"x": 0.1 * j, "y": 0.2, "z": 0.0, "visibility": 0.9} for j in range(21)], []]
    (tmp_path / "hand.json").write_text(json.dumps({"fps": 15, "frames": frames}))
    result = runner.invoke(
        app,
        [
            "import",
            "mediapipe",
            str(tmp_path / "hand.json"),
            "--out",
            str(tmp_path / "mp"),
            "--schema",
            "mediapipe_hand",
        ],
    )
    assert result.exit_code == 0, result.output
    hand = load_recording(tmp_path / "mp" / "hand.npz")
    assert hand.keypoints.shape == (2, 21, 4) and hand.fps == 15 and hand.schema == "mediapipe_hand"


def test_unknown_format_and_missing_source_are_one_line(tmp_path: Path):
    result = runner.invoke(app, ["import", "kinect", str(tmp_path), "--out", str(tmp_path / "o")])
    assert (
        result.exit_code == 2 and "unknown format 'kinect'; choose one of: openpose, coco, mediapipe" in result.output
    )
    result = runner.invoke(app, ["import", "openpose", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0 and "not found" in result.output


def test_a_recording_without_frame_index_loads_with_frames_0_to_t_minus_1(tmp_path: Path):
    keypoints = np.random.default_rng(0).normal(size=(5, 17, 2)).astype(np.float32)
    np.savez(
        tmp_path / "other_tool.npz",
        keypoints=keypoints,
        present=np.ones(5, bool),
        fps=np.float64(10.0),
        schema=np.asarray("coco17"),
    )
    recording = load_recording(tmp_path / "other_tool.npz")
    np.testing.assert_array_equal(recording.frame_index, np.arange(5))
    np.testing.assert_allclose(recording.times, np.arange(5) / 10.0)
