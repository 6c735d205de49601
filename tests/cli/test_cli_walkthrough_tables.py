"""Issue 19 acceptance: the sensor user's and the sign-language user's whole jobs from the CLI only,
on generated data, each step asserting on its outputs: train -> eval -> predict new data ->
stream a recorded session -> export -> run the ONNX file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app

TINY = ["--model", "gru", "-o", "hidden_sizes=[8]", "-o", "dense=[]", "--epochs", "2", "--no-progress"]
RATE = 20.0


def invoke(*args):
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result


def sensor_rows(rng, name, label, steps=24):
    t = np.arange(steps) / RATE
    wave = np.sin(2 * np.pi * (0.5 + label) * t + rng.uniform(0, 6))
    return pd.DataFrame(
        {
            "id": name,
            "time": t,
            "acc_x": wave + rng.normal(scale=0.2, size=steps),
            "acc_y": label + rng.normal(scale=0.2, size=steps),
        }
    )


def test_long_sensor_csv_with_a_labels_file_from_training_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    names = {0: "rest", 1: "walk", 2: "run"}
    rows, labels = [], []
    for number in range(36):
        label = number % 3
        rows.append(sensor_rows(rng, f"s{number:02d}", label))
        labels.append(
            {"id": f"s{number:02d}", "label": label, "label_desc": names[label], "subject": f"p{number // 3}"}
        )
    pd.concat(rows).to_csv(tmp_path / "sensors.csv", index=False)
    pd.DataFrame(labels).to_csv(tmp_path / "labels.csv", index=False)

    run = tmp_path / "run"
    trained = invoke(
        "train", "--data", tmp_path / "sensors.csv", "--labels", tmp_path / "labels.csv", "--out", run, *TINY
    )
    assert "column 'subject' (12 distinct)" in trained.output and "label_desc" in trained.output
    assert "cover the other classes only" not in " ".join(trained.output.split())  # every class in validation and test
    invoke(
        "eval",
        run,
        "--data",
        tmp_path / "sensors.csv",
        "--labels",
        tmp_path / "labels.csv",
        "--out",
        tmp_path / "eval.json",
    )
    assert json.loads((tmp_path / "eval.json").read_text())["n"] == 36

    pd.concat([sensor_rows(rng, f"new{i}", i % 3) for i in range(4)]).to_csv(tmp_path / "new.csv", index=False)
    invoke("predict", run, "--data", tmp_path / "new.csv", "--submission", "--out", tmp_path / "submission.csv")
    submission = pd.read_csv(tmp_path / "submission.csv")
    assert list(submission.columns) == ["id", "rest", "walk", "run"] and submission["id"].tolist() == [
        f"new{i}" for i in range(4)
    ]

    session = pd.concat([sensor_rows(rng, "x", label, steps=60) for label in (0, 2)]).drop(columns="id")
    session["time"] = np.arange(len(session)) / RATE
    session.to_csv(tmp_path / "session.csv", index=False)
    streamed = invoke("stream", run, "--source", f"csv:{tmp_path / 'session.csv'}", "--fast")
    assert "120 frames, 120 recognized" in streamed.output

    invoke("export", run, "--data", tmp_path / "new.csv", "--out", tmp_path / "model.onnx")
    onnx = ort.InferenceSession(str(tmp_path / "model.onnx"))
    values = pd.read_csv(tmp_path / "new.csv").query("id == 'new0'")[["acc_x", "acc_y"]].to_numpy(np.float32)[None]
    proba = onnx.run(["probabilities"], {"features": values, "lengths": np.array([values.shape[1]], dtype=np.int64)})[0]
    assert np.allclose(proba[0], submission.iloc[0, 1:].to_numpy(np.float32), atol=1e-4)


def test_mediapipe_npy_windows_with_the_label_last_from_training_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    for video in range(8):  # one file per video: seq_0.npy ... [6 windows, 10 steps, 4 features + label]
        y = np.arange(6) % 3
        X = rng.normal(size=(6, 10, 4)) + y[:, None, None]
        np.save(
            tmp_path / f"seq_{video}.npy",
            np.concatenate([X, np.broadcast_to(y[:, None, None], (6, 10, 1))], axis=2).astype(np.float32),
        )
    run = tmp_path / "run"
    trained = invoke(
        "train",
        "--data",
        tmp_path / "seq_*.npy",
        "--label-last",
        "--label-names",
        "hello,thanks,yes",
        "--out",
        run,
        *TINY,
    )
    assert "each of 8 file(s) without groups (seq_0, seq_1, seq_2 ...) is one group" in trained.output
    invoke(
        "eval",
        run,
        "--data",
        tmp_path / "seq_0.npy",
        "--label-last",
        "--label-names",
        "hello,thanks,yes",
        "--out",
        tmp_path / "eval.json",
    )
    assert json.loads((tmp_path / "eval.json").read_text())["n"] == 6
    invoke(
        "predict",
        run,
        "--data",
        tmp_path / "seq_7.npy",
        "--label-last",
        "--label-names",
        "hello,thanks,yes",
        "--out",
        tmp_path / "p.csv",
    )
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert list(predictions.columns) == ["id", "pred", "confidence", "hello", "thanks", "yes"] and len(predictions) == 6
    exported = invoke("export", run, "--data", tmp_path / "seq_7.npy", "--label-last", "--out", tmp_path / "model.onnx")
    assert "max |onnx - predict_proba|" in exported.output
    windows = np.load(tmp_path / "seq_7.npy")[:, :, :-1]
    proba = ort.InferenceSession(str(tmp_path / "model.onnx")).run(
        ["probabilities"], {"features": windows, "lengths": np.full(6, 10, dtype=np.int64)}
    )[0]
    assert np.allclose(proba, predictions[["hello", "thanks", "yes"]].to_numpy(np.float32), atol=1e-4)

    np.save(tmp_path / "new.npy", windows)  # new signs, as recorded: no label column
    invoke("predict", run, "--data", tmp_path / "new.npy", "--out", tmp_path / "new.csv")
    assert np.allclose(pd.read_csv(tmp_path / "new.csv")[["hello", "thanks", "yes"]], proba, atol=1e-4)
    session = pd.DataFrame(windows[:2].reshape(20, 4), columns=[f"f{i}" for i in range(4)])
    session.insert(0, "time", np.arange(20) / 30.0)
    session.to_csv(tmp_path / "session.csv", index=False)
    streamed = invoke("stream", run, "--source", tmp_path / "session.csv", "--fast")
    assert "20 frames, 20 recognized" in streamed.output
