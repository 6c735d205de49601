"""Issue 19 acceptance: the fall-detector user's whole job from the CLI only, from OpenPose JSON:
import -> build windows -> train (small) -> eval -> predict an unlabelled recording, and the JSON
folder itself (imported on the fly) -> stream a JSON folder as it comes from OpenPose -> export ->
run the ONNX file. Each step asserts on its outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app

TINY = ["--model", "gru", "-o", "hidden_sizes=[8]", "-o", "dense=[]", "--epochs", "2", "--no-progress"]
FRAMES, FPS = 40, 10.0


def invoke(*args):
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result


def write_openpose_video(folder, rng) -> None:
    """One --write_json folder: standing for 2 s, then falling (the body drops) for 2 s; a few
    joints undetected (confidence 0) as OpenPose leaves them."""
    folder.mkdir(parents=True)
    base = rng.normal(size=(25, 2)) * 20 + np.array([200.0, 100.0])
    for frame in range(FRAMES):
        drop = 0.0 if frame < FRAMES // 2 else (frame - FRAMES // 2) * 15.0
        points = base + rng.normal(scale=2.0, size=(25, 2)) + np.array([0.0, drop])
        confidence = np.full(25, 0.9)
        confidence[rng.integers(0, 25, size=2)] = 0.0
        body = np.column_stack([points, confidence]).reshape(-1).tolist()
        (folder / f"video_{frame:012d}_keypoints.json").write_text(
            json.dumps({"people": [{"pose_keypoints_2d": body}]})
        )


def test_openpose_json_from_import_to_streaming_and_export(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    names = [f"clip{number}" for number in range(6)]
    for name in names:
        write_openpose_video(tmp_path / "op_json" / name, rng)
    write_openpose_video(tmp_path / "new_json", rng)
    imported = invoke(
        "import",
        "openpose",
        tmp_path / "op_json",
        "--out",
        tmp_path / "keypoints",
        "--fps",
        FPS,
        "--schema",
        "openpose_body25",
    )
    assert len(list((tmp_path / "keypoints").glob("*.npz"))) == 6, imported.output
    segments = pd.DataFrame(
        [(name, start, start + 2.0, label) for name in names for start, label in ((0.0, "stand"), (2.0, "fall"))],
        columns=["video", "start", "end", "label"],
    )
    segments.to_csv(tmp_path / "segments.csv", index=False)
    invoke(
        "dataset",
        "build",
        "--recordings",
        tmp_path / "keypoints",
        "--segments",
        tmp_path / "segments.csv",
        "--window",
        10,
        "--stride",
        5,
        "--out",
        tmp_path / "windows.npz",
    )
    run = tmp_path / "run"
    invoke("train", "--data", tmp_path / "windows.npz", "--out", run, *TINY)
    invoke("eval", run, "--data", tmp_path / "windows.npz", "--out", tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text())["n"] == len(np.load(tmp_path / "windows.npz")["X"])

    invoke(
        "import",
        "openpose",
        tmp_path / "new_json",
        "--out",
        tmp_path / "new",
        "--fps",
        FPS,
        "--schema",
        "openpose_body25",
    )
    invoke("predict", run, "--data", tmp_path / "new", "--out", tmp_path / "new.csv")
    predictions = pd.read_csv(tmp_path / "new.csv")
    assert predictions["id"].iloc[0] == "new_json@0" and predictions["end_time"].iloc[-1] == FRAMES / FPS
    assert set(predictions["pred"]) <= {"fall", "stand"}
    invoke("predict", run, "--recordings", tmp_path / "new_json", "--out", tmp_path / "on_the_fly.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "on_the_fly.csv"), predictions)

    streamed = invoke("stream", run, "--source", tmp_path / "new_json", "--fast", "--events", tmp_path / "events.jsonl")
    assert f"{FRAMES} frames, {FRAMES} recognized" in streamed.output
    assert all(
        json.loads(line)["label"] in ("fall", "stand") for line in (tmp_path / "events.jsonl").read_text().splitlines()
    )

    exported = invoke("export", run, "--data", tmp_path / "new", "--out", tmp_path / "model.onnx")
    assert "max |onnx - predict_proba|" in exported.output
    keypoints = np.load(tmp_path / "new" / "new_json.npz")["keypoints"][None, :10]
    proba = ort.InferenceSession(str(tmp_path / "model.onnx")).run(
        ["probabilities"],
        {"keypoints": keypoints, "present": np.isfinite(keypoints).all(-1), "lengths": np.array([10], dtype=np.int64)},
    )[0]
    assert np.allclose(proba[0], predictions.loc[0, ["fall", "stand"]].to_numpy(np.float32), atol=1e-4)
