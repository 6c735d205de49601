"""Issue 19, item 2: new, unlabelled keypoint data is predicted: a recording .npz (no 'X') is cut
into the model's windows; `dataset build` without segments gives unlabelled windows; windows
labelled with a name the model never saw (`unknown`) are predicted, not refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.io.recording import Recording, save_recording
from actrec.recognizers import Recognizer
from tests.helpers.keypoint_model import FPS, WINDOW, fit_keypoint_model

N_FRAMES = 30


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return fit_keypoint_model(tmp_path_factory.mktemp("kp_run"))


@pytest.fixture()
def recordings(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for name in ("new_a", "new_b"):
        keypoints = rng.normal(size=(N_FRAMES, 17, 3)).astype(np.float32)
        keypoints[..., 2] = 1.0
        save_recording(
            folder / f"{name}.npz", Recording(keypoints, np.ones(N_FRAMES, bool), FPS, np.arange(N_FRAMES), "coco17")
        )
    return folder


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_predict_on_a_recording_windows_it_as_the_model_and_says_where(run_dir, recordings, tmp_path):
    out = tmp_path / "preds.csv"
    result = invoke("predict", run_dir, "--data", recordings / "new_a.npz", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    starts = [0, 4, 8, 12, 16, 20, 22]  # stride = half the window; the last window ends at the last frame
    assert list(table.columns) == ["id", "start_time", "end_time", "pred", "confidence", "still", "wave"]
    assert table["id"].tolist() == [f"new_a@{start}" for start in starts]
    assert np.allclose(table["start_time"], np.array(starts) / FPS) and np.allclose(
        table["end_time"], (np.array(starts) + WINDOW) / FPS
    )
    keypoints = np.load(recordings / "new_a.npz")["keypoints"]
    expected = Recognizer.load(run_dir).predict_proba(np.stack([keypoints[s : s + WINDOW] for s in starts]))
    assert np.allclose(table[["still", "wave"]].to_numpy(), expected, atol=1e-5)


def test_predict_a_folder_of_recordings_with_a_chosen_window_and_stride(run_dir, recordings, tmp_path):
    out = tmp_path / "preds.csv"
    result = invoke("predict", run_dir, "--data", recordings, "--window", WINDOW, "--stride", 11, "--out", out)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["id"].tolist() == ["new_a@0", "new_a@11", "new_a@22", "new_b@0", "new_b@11", "new_b@22"]


def test_dataset_build_without_segments_gives_unlabelled_windows_that_predict_reads(run_dir, recordings, tmp_path):
    windows = tmp_path / "new.npz"
    result = invoke("dataset", "build", "--recordings", recordings, "--window", WINDOW, "--stride", 8, "--out", windows)
    assert result.exit_code == 0, result.output
    assert "unlabelled" in result.output
    assert "y" not in np.load(windows).files
    result = invoke("predict", run_dir, "--data", windows, "--out", tmp_path / "preds.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "preds.csv")) == 2 * 4


def test_windows_labelled_unknown_are_predicted_not_refused(run_dir, recordings, tmp_path):
    segments = tmp_path / "segments.csv"
    segments.write_text("video,start,end,label\nnew_a,0,3,unknown\nnew_b,0,3,unknown\n")
    windows = tmp_path / "unknown.npz"
    result = invoke(
        "dataset",
        "build",
        "--recordings",
        recordings,
        "--segments",
        segments,
        "--window",
        WINDOW,
        "--stride",
        8,
        "--out",
        windows,
    )
    assert result.exit_code == 0, result.output
    result = invoke("predict", run_dir, "--data", windows, "--out", tmp_path / "preds.csv")
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "preds.csv")["pred"]) <= {"still", "wave"}


def test_predict_per_frame_gives_every_frame_the_window_ending_there(run_dir, recordings, tmp_path):
    out = tmp_path / "frames.csv"
    result = invoke("predict", run_dir, "--data", recordings / "new_b.npz", "--per-frame", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["id", "time", "pred", "confidence", "still", "wave"]
    assert table["id"].tolist() == [f"new_b@{frame}" for frame in range(N_FRAMES)]
    assert np.allclose(table["time"], np.arange(N_FRAMES) / FPS)
    from actrec.stream.engine import Streamer

    streamer = Streamer(Recognizer.load(run_dir))
    streamed = [streamer.push(frame).probabilities for frame in np.load(recordings / "new_b.npz")["keypoints"]]
    assert np.allclose(table[["still", "wave"]].to_numpy(), np.stack(streamed), atol=2e-5)
