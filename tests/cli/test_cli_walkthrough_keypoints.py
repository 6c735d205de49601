"""Issue 19 acceptance: the keypoint user's whole job from the CLI only, on generated data:
generate recordings -> build windows -> train (small) -> eval -> predict unlabelled recordings ->
stream a recorded session -> export -> run the ONNX file. Each step asserts on its outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app

TINY = ["--model", "gru", "-o", "hidden_sizes=[8]", "-o", "dense=[]", "--epochs", "2", "--no-progress"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result


def test_keypoint_recordings_from_generation_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    invoke("dataset", "generate", "--out", tmp_path / "syn", "--recordings", 6, "--seed", 0)
    recordings = tmp_path / "syn" / "recordings"
    invoke(
        "dataset",
        "build",
        "--recordings",
        recordings,
        "--segments",
        tmp_path / "syn" / "segments.csv",
        "--window",
        20,
        "--stride",
        10,
        "--out",
        tmp_path / "windows.npz",
    )
    run = tmp_path / "run"
    trained = invoke("train", "--data", tmp_path / "windows.npz", "--out", run, *TINY)
    assert "has no groups" not in trained.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["n"] > 0

    invoke("eval", run, "--data", tmp_path / "windows.npz", "--out", tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text())["n"] == np.load(tmp_path / "windows.npz")["X"].shape[0]

    first = sorted(recordings.glob("*.npz"))[0]
    invoke("predict", run, "--data", first, "--out", tmp_path / "new.csv")
    predictions = pd.read_csv(tmp_path / "new.csv")
    n_frames = np.load(first)["keypoints"].shape[0]
    assert predictions["end_time"].iloc[-1] == pytest.approx(n_frames / float(np.load(first)["fps"]))
    classes = json.loads(invoke("info", run, "--json").stdout)["label_names"]
    assert list(predictions.columns) == ["id", "start_time", "end_time", "pred", "confidence", *classes]
    assert set(predictions["pred"]) <= set(classes)

    streamed = invoke("stream", run, "--source", first, "--fast", "--events", tmp_path / "events.jsonl")
    assert f"{n_frames} frames, {n_frames} recognized" in streamed.output

    invoke("export", run, "--data", first, "--out", tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    keypoints = np.load(first)["keypoints"][None, :20].astype(np.float32)
    proba = session.run(
        ["probabilities"],
        {"keypoints": keypoints, "present": np.isfinite(keypoints).all(-1), "lengths": np.array([20], dtype=np.int64)},
    )[0]
    assert proba.shape == (1, len(classes)) and np.isclose(proba.sum(), 1.0, atol=1e-4)
    assert np.allclose(proba[0], predictions.iloc[0, 5:].to_numpy(np.float32), atol=1e-4)
