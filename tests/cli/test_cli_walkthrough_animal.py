"""Issue 19 acceptance: the animal user's whole job from the CLI only, with their own 15-joint
quadruped skeleton in YAML and keypoints as CSV tables (one per video, `frame,<joint>_x,<joint>_y`):
import -> build windows -> train (small) -> eval -> predict an unlabelled session CSV -> stream it
-> export -> run the ONNX file. Each step asserts on its outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app

TINY = ["--model", "gru", "-o", "hidden_sizes=[8]", "-o", "dense=[]", "--epochs", "2", "--no-progress", "--seed", "0"]
FRAMES, FPS, WINDOW = 40, 10.0, 10
JOINTS = [
    "nose",
    "neck",
    "withers",
    "tail_base",
    "tail_tip",
    *(f"{side}_{part}" for side in ("left", "right") for part in ("shoulder", "front_paw", "hip", "back_paw")),
    "left_ear",
    "right_ear",
]
SCHEMA = f"""name: quadruped15
joints: [{", ".join(JOINTS)}]
bones:
  - [neck, nose]
  - [neck, left_ear]
  - [neck, right_ear]
  - [neck, withers]
  - [withers, tail_base]
  - [tail_base, tail_tip]
  - [withers, left_shoulder]
  - [left_shoulder, left_front_paw]
  - [withers, right_shoulder]
  - [right_shoulder, right_front_paw]
  - [tail_base, left_hip]
  - [left_hip, left_back_paw]
  - [tail_base, right_hip]
  - [right_hip, right_back_paw]
mirror: auto
root: withers
scale_bone: [withers, tail_base]
coordinate_dims: 2
"""


def invoke(*args):
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result


def animal_frames(rng: np.random.Generator) -> np.ndarray:
    """`[FRAMES, 15, 2]`: resting for the first half (small noise), walking for the second (the
    paws swing)."""
    base = rng.uniform(50, 150, size=(len(JOINTS), 2))
    frames = base + rng.normal(scale=1.0, size=(FRAMES, len(JOINTS), 2))
    paws = [JOINTS.index(f"{side}_{paw}") for side in ("left", "right") for paw in ("front_paw", "back_paw")]
    walking = np.arange(FRAMES) >= FRAMES // 2
    swing = 15.0 * np.sin(np.arange(FRAMES) * 1.3)
    frames[np.ix_(walking, paws, [0])] += swing[walking, None, None]
    return frames


def joint_columns(frames: np.ndarray, extra: str | None = None) -> dict[str, np.ndarray]:
    """`<joint>_x`, `<joint>_y` (and `<joint>_<extra>`) columns of `frames [T, J, 2]`."""
    columns = {}
    for j, joint in enumerate(JOINTS):
        columns[f"{joint}_x"], columns[f"{joint}_y"] = frames[:, j, 0], frames[:, j, 1]
        if extra:
            columns[f"{joint}_{extra}"] = np.full(len(frames), 0.9)
    return columns


def test_a_yaml_quadruped_from_csv_tables_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    (tmp_path / "quadruped15.yaml").write_text(SCHEMA)
    (tmp_path / "tables").mkdir()
    names = [f"dog{number}" for number in range(6)]
    for name in names:
        table = pd.DataFrame({"frame": np.arange(FRAMES), **joint_columns(animal_frames(rng))})
        table.to_csv(tmp_path / "tables" / f"{name}.csv", index=False)
    invoke(
        "import",
        "mediapipe",
        tmp_path / "tables",
        "--out",
        tmp_path / "keypoints",
        "--schema",
        tmp_path / "quadruped15.yaml",
        "--fps",
        FPS,
    )
    imported = np.load(tmp_path / "keypoints" / "dog0.npz")
    assert imported["keypoints"].shape == (FRAMES, 15, 2)

    segments = pd.DataFrame(
        [(name, start, start + 2.0, label) for name in names for start, label in ((0.0, "rest"), (2.0, "walk"))],
        columns=["video", "start", "end", "label"],
    )
    segments.to_csv(tmp_path / "segments.csv", index=False)
    built = invoke(
        "dataset",
        "build",
        "--recordings",
        tmp_path / "keypoints",
        "--segments",
        tmp_path / "segments.csv",
        "--window",
        WINDOW,
        "--stride",
        5,
        "--out",
        tmp_path / "windows.npz",
    )
    assert "rest" in built.output and "walk" in built.output

    run = tmp_path / "run"
    invoke("train", "--data", tmp_path / "windows.npz", "--out", run, *TINY)
    info = json.loads(invoke("info", run, "--json").stdout)
    assert info["frame_shape"] == [15, 2] and info["label_names"] == ["rest", "walk"]
    invoke("eval", run, "--data", tmp_path / "windows.npz", "--out", tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text())["n"] == len(np.load(tmp_path / "windows.npz")["X"])

    # a new, unlabelled session as the tracker writes it: time + named joint columns in any
    # order, a likelihood column each, and empty cells where a joint was not found
    session = animal_frames(rng)
    table = pd.DataFrame(joint_columns(session, extra="likelihood"))
    table = table[sorted(table.columns)]
    table.insert(0, "time", np.arange(FRAMES) / FPS)
    table.loc[12, ["nose_x", "nose_y"]] = np.nan
    table.to_csv(tmp_path / "session.csv", index=False, na_rep="")
    invoke("predict", run, "--recordings", tmp_path / "session.csv", "--stride", WINDOW, "--out", tmp_path / "new.csv")
    predictions = pd.read_csv(tmp_path / "new.csv")
    assert predictions["id"].tolist() == [f"session@{start}" for start in range(0, FRAMES, WINDOW)]
    assert np.allclose(predictions["end_time"], (np.arange(0, FRAMES, WINDOW) + WINDOW) / FPS)
    assert set(predictions["pred"]) <= {"rest", "walk"}

    streamed = invoke("stream", run, "--source", tmp_path / "session.csv", "--fast", "--events", tmp_path / "ev.jsonl")
    assert f"{FRAMES} frames, {FRAMES} recognized" in streamed.output
    assert all(
        json.loads(line)["label"] in ("rest", "walk") for line in (tmp_path / "ev.jsonl").read_text().splitlines()
    )

    invoke("export", run, "--data", tmp_path / "keypoints", "--out", tmp_path / "model.onnx")
    onnx = ort.InferenceSession(str(tmp_path / "model.onnx"))
    windows = session.reshape(FRAMES // WINDOW, WINDOW, 15, 2).astype(np.float32)
    windows[1, 2, JOINTS.index("nose")] = np.nan  # frame 12: the empty cells
    proba = onnx.run(
        ["probabilities"],
        {
            "keypoints": windows,
            "present": np.isfinite(windows).all(-1),
            "lengths": np.full(len(windows), WINDOW, dtype=np.int64),
        },
    )[0]
    assert np.allclose(proba, predictions[["rest", "walk"]].to_numpy(np.float32), atol=1e-4)
