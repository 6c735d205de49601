"""Issue 19, items 1 and 2: `actrec stream` and `actrec predict` read every keypoint source the
toolkit writes or imports (a session CSV, recordings, OpenPose/COCO/MediaPipe JSON, a video), in
the model's skeleton, and `predict --recordings` windows unlabelled ones."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer
from actrec.skeletons import get_schema
from actrec.skeletons.mapping import joint_index
from tests.helpers.keypoint_model import FPS, WINDOW, fit_keypoint_model

N_FRAMES = 30
STARTS = [0, 4, 8, 12, 16, 20, 22]  # windows of 8 every 4 frames, the last ending at the last frame


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return fit_keypoint_model(tmp_path_factory.mktemp("kp_run"))


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def expected_windows(run_dir, keypoints: np.ndarray) -> np.ndarray:
    """The model's probabilities for the windows at STARTS of `keypoints [T, 17, 3]`."""
    return Recognizer.load(run_dir).predict_proba(np.stack([keypoints[s : s + WINDOW] for s in STARTS]))


def coco_keypoints(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    keypoints = np.column_stack([rng.normal(size=(N_FRAMES * 17, 2)) * 10 + 100, np.full(N_FRAMES * 17, 0.8)])
    return keypoints.reshape(N_FRAMES, 17, 3).astype(np.float32)


def write_coco_json(path, keypoints: np.ndarray):
    detections = [{"image_id": frame, "keypoints": keypoints[frame].reshape(-1).tolist()} for frame in range(N_FRAMES)]
    path.write_text(json.dumps(detections))
    return path


def test_predict_a_coco_json_file_is_imported_on_the_fly_and_windowed(run_dir, tmp_path):
    keypoints = coco_keypoints()
    source = write_coco_json(tmp_path / "walk.json", keypoints)
    result = invoke("predict", run_dir, "--recordings", source, "--out", tmp_path / "preds.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "preds.csv")
    assert table["id"].tolist() == [f"walk@{start}" for start in STARTS]
    assert np.allclose(table[["still", "wave"]].to_numpy(), expected_windows(run_dir, keypoints), atol=1e-5)


def test_mediapipe_json_is_mapped_onto_the_model_joints_by_name(run_dir, tmp_path):
    rng = np.random.default_rng(2)
    landmarks = rng.normal(size=(N_FRAMES, 33, 4)).astype(np.float32)
    frames = [[dict(zip("xyz", mark[:3].tolist()), visibility=float(mark[3])) for mark in frame] for frame in landmarks]
    source = tmp_path / "pose.json"
    source.write_text(json.dumps({"fps": FPS, "frames": frames}))
    result = invoke("predict", run_dir, "--data", source, "--per-frame", "--out", tmp_path / "frames.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "frames.csv")
    assert table["id"].tolist() == [f"pose@{frame}" for frame in range(N_FRAMES)]
    index = joint_index(get_schema("mediapipe_pose"), get_schema("coco17"))
    from actrec.stream.engine import Streamer

    streamer = Streamer(Recognizer.load(run_dir))
    streamed = [streamer.push(frame).probabilities for frame in landmarks[:, index, :3]]
    assert np.allclose(table[["still", "wave"]].to_numpy(), np.stack(streamed), atol=2e-5)
    result = invoke("stream", run_dir, "--source", source, "--fast")
    assert result.exit_code == 0, result.output
    assert f"{N_FRAMES} frames, {N_FRAMES} recognized" in result.output


def test_a_session_csv_is_predicted_in_windows_with_empty_cells_as_missing_joints(run_dir, tmp_path):
    keypoints = coco_keypoints(3)
    table = pd.DataFrame(keypoints.reshape(N_FRAMES, -1))
    table.insert(0, "time", np.arange(N_FRAMES) / FPS)
    table.iloc[3, 1:4] = np.nan  # the nose not detected on frame 3
    table.to_csv(tmp_path / "session.csv", index=False, na_rep="")
    result = invoke("predict", run_dir, "--data", tmp_path / "session.csv", "--out", tmp_path / "preds.csv")
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(tmp_path / "preds.csv")
    assert predicted["id"].tolist() == [f"session@{start}" for start in STARTS]
    assert np.allclose(predicted["start_time"], np.array(STARTS) / FPS)
    keypoints[3, 0] = np.nan
    assert np.allclose(predicted[["still", "wave"]].to_numpy(), expected_windows(run_dir, keypoints), atol=1e-5)
    result = invoke("stream", run_dir, "--source", tmp_path / "session.csv", "--fast")  # no csv: needed
    assert result.exit_code == 0, result.output
    assert f"{N_FRAMES} frames, {N_FRAMES} recognized" in result.output


def test_a_411_column_session_streams_into_a_137_joint_model(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 6, 137, 3)).astype(np.float32)
    y = np.arange(16) % 2
    X[y == 1, :, :25, 0] += 2.0
    windows = SequenceDataset(
        X=X, lengths=np.full(16, 6), y=y, label_names=["a", "b"], sample_rate_hz=FPS, schema="openpose_137"
    )
    Recognizer(model="gru", model_options={"hidden_sizes": [4], "dense": []}, epochs=1, seed=0).fit(windows).save(
        tmp_path / "model.actrec"
    )
    session = rng.normal(size=(12, 411)).astype(np.float32)
    table = pd.DataFrame(session)
    table.insert(0, "time", np.arange(12) / FPS)
    table.iloc[2, 1 + 25 * 3 : 1 + 95 * 3] = np.nan  # no face on frame 2
    table.to_csv(tmp_path / "session.csv", index=False, na_rep="")
    events = tmp_path / "events.jsonl"
    result = invoke("stream", tmp_path, "--source", f"csv:{tmp_path / 'session.csv'}", "--fast", "--events", events)
    assert result.exit_code == 0, result.output
    assert "12 frames, 12 recognized" in result.output
    result = invoke("predict", tmp_path, "--recordings", tmp_path / "session.csv", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "p.csv")["id"].tolist() == ["session@0", "session@3", "session@6"]


def test_predict_recordings_takes_a_folder_of_openpose_videos_with_window_and_stride(run_dir, tmp_path):
    rng = np.random.default_rng(4)
    for video in ("cam1", "cam2"):
        folder = tmp_path / "openpose" / video
        folder.mkdir(parents=True)
        for frame in range(N_FRAMES):
            body = np.column_stack([rng.normal(size=(25, 2)) * 10 + 100, np.full(25, 0.9)])
            person = {"pose_keypoints_2d": body.reshape(-1).tolist()}
            (folder / f"{video}_{frame:012d}_keypoints.json").write_text(json.dumps({"people": [person]}))
    out = tmp_path / "preds.csv"
    result = invoke(
        "predict", run_dir, "--recordings", tmp_path / "openpose", "--window", 8, "--stride", 11, "--out", out
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["id"].tolist() == [
        f"{video}@{start}" for video in ("cam1", "cam2") for start in (0, 11, 22)
    ]


def test_a_json_file_of_no_known_layout_is_one_line(run_dir, tmp_path):
    (tmp_path / "notes.json").write_text(json.dumps({"camera": "left"}))
    result = invoke("predict", run_dir, "--recordings", tmp_path / "notes.json", "--out", tmp_path / "p.csv")
    assert result.exit_code == 2
    assert "notes.json: not keypoints in a known JSON layout" in result.output
    result = invoke("predict", run_dir, "--out", tmp_path / "p.csv")
    assert result.exit_code == 2 and "--recordings" in result.output


needs_mediapipe = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("cv2", "mediapipe")),
    reason="needs cv2 and mediapipe; scripts/install-video.sh installs them",
)


@needs_mediapipe
def test_predict_a_video_extracts_its_keypoints_on_the_fly(run_dir, tmp_path):
    import cv2

    from actrec.extract.core import extract_video

    rng = np.random.default_rng(5)
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 64))
    for _ in range(12):
        writer.write((rng.random((64, 64, 3)) * 255).astype(np.uint8))
    writer.release()
    result = invoke("predict", run_dir, "--recordings", tmp_path / "clip.avi", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "p.csv")
    assert table["id"].tolist() == ["clip@0", "clip@4"]
    keypoints = extract_video(tmp_path / "clip.avi", "pose").keypoints
    index = joint_index(get_schema("mediapipe_pose"), get_schema("coco17"))
    windows = np.stack([keypoints[start : start + WINDOW, index, :3] for start in (0, 4)])
    assert np.allclose(table[["still", "wave"]].to_numpy(), Recognizer.load(run_dir).predict_proba(windows), atol=1e-5)


def test_segments_without_labels_give_unlabelled_windows_inside_their_spans(run_dir, tmp_path):
    from actrec.io.recording import Recording, save_recording

    (tmp_path / "new").mkdir()
    keypoints = coco_keypoints(6)
    save_recording(
        tmp_path / "new" / "cam.npz", Recording(keypoints, np.ones(N_FRAMES, bool), FPS, np.arange(N_FRAMES), "coco17")
    )
    (tmp_path / "spans.csv").write_text("video,start,end\ncam,1.0,2.6\n")  # frames 10..25
    out = tmp_path / "spans.npz"
    result = invoke(
        "dataset", "build", "--recordings", tmp_path / "new", "--segments", tmp_path / "spans.csv",
        "--window", WINDOW, "--stride", 4, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "unlabelled" in result.output
    built = np.load(out)
    assert "y" not in built.files and built["meta_start_frame"].tolist() == [8, 12, 16, 20]  # half inside the span
    result = invoke("predict", run_dir, "--data", out, "--out", tmp_path / "preds.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "preds.csv")["id"].tolist() == ["cam@8", "cam@12", "cam@16", "cam@20"]


@pytest.mark.parametrize(
    "name, content, said",
    [
        ("landmarks.csv", "frame,nose_x,nose_y\n0,abc,1\n", "not a readable mediapipe keypoint file"),
        ("half.json", '[{"image_id": 0, "keypoints": [1, 2', "not valid JSON"),
        ("few.json", '{"frames": [[[1, 2]]]}', "frame 0 has 1 landmarks"),
    ],
)
def test_a_broken_keypoint_file_is_one_line_naming_it(run_dir, tmp_path, name, content, said):
    (tmp_path / name).write_text(content)
    result = invoke("predict", run_dir, "--recordings", tmp_path / name, "--out", tmp_path / "p.csv")
    assert result.exit_code == 2 and said in result.output and name in result.output
    assert "Traceback" not in result.output
