"""Issues 19 and 21 acceptance: the pet-video user's whole job from the CLI only, with clips in
folders named after each behaviour (`clips/<behaviour>/*.mp4`, one behaviour per clip):
train with no model flag (`auto` says what it chose and why) -> eval -> predict a folder of new,
unlabelled clips -> stream a recorded video -> export -> run the ONNX file as the README does.
The clips are generated: an object moving over a textured scene, the behaviour told by the
motion alone (`actrec.data.synthetic_clips`). Each step asserts on its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from tests.helpers.clip_models import readme_clip_reference, write_session_video

pytest.importorskip("cv2", reason="clips are decoded with OpenCV (pip install 'actrec[clips]')")

from actrec.data.synthetic_clips import render_clip, write_video

# a pet behaviour -> the generated motion that plays it
BEHAVIOURS = {"jump": "up", "walk": "right", "turn": "clockwise"}
FRAMES, SIZE, FPS = 16, 32, 10.0
# a small budget: a narrower network than auto's, for a few epochs (auto's other choices stand)
TINY = ["-o", "width=8", "--epochs", "15", "--batch-size", "4", "--lr", "3e-3", "--no-progress", "--seed", "0"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result


def write_pet_clips(folder: Path, per_class: int, rng: np.random.Generator) -> None:
    """`folder/<behaviour>/<behaviour>_<i>.mp4`, as a pet owner sorts their clips."""
    for index in range(per_class):
        for behaviour, motion in BEHAVIOURS.items():
            write_video(folder / behaviour / f"{behaviour}_{index}.mp4", render_clip(motion, FRAMES, SIZE, rng), FPS)


def test_pet_clips_in_behaviour_folders_from_training_to_onnx(tmp_path):
    pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    rng = np.random.default_rng(0)
    write_pet_clips(tmp_path / "clips", 10, rng)
    classes = sorted(BEHAVIOURS)

    run = tmp_path / "run"
    trained = invoke("train", "--data", tmp_path / "clips", "--out", run, *TINY)
    output = " ".join(trained.output.split())
    assert "model auto (the default) chose tsm" in output
    assert "because 30 clips are few" in output and "motion=diff" in output
    assert "kept the options given (width=8)" in output
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "tsm" and config["clip"]["motion"] == "diff" and config["model_options"]["width"] == 8
    assert config["n_train"] + config["n_val"] + config["n_test"] == 30
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["n"] == config["n_test"] and 0.0 <= metrics["test"]["top1"] <= 1.0

    evaluated = invoke("eval", run, "--data", tmp_path / "clips", "--out", tmp_path / "eval.json")
    scores = json.loads((tmp_path / "eval.json").read_text())
    assert scores["n"] == 30 and f"{scores['top1']:.4f}" in evaluated.output

    # new clips straight in one folder: no behaviour known, nothing to label them with
    (tmp_path / "new").mkdir()
    new_motions = ["up", "right", "clockwise", "right"]
    for index, motion in enumerate(new_motions):
        write_video(tmp_path / "new" / f"pet_{index}.mp4", render_clip(motion, FRAMES, SIZE, rng), FPS)
    invoke("predict", run, "--data", tmp_path / "new", "--out", tmp_path / "new.csv")
    predictions = pd.read_csv(tmp_path / "new.csv")
    assert list(predictions.columns) == ["id", "pred", "confidence", *classes]
    assert [Path(name).name for name in predictions["id"]] == [f"pet_{i}.mp4" for i in range(len(new_motions))]
    proba = predictions[classes].to_numpy(np.float32)
    assert np.allclose(proba.sum(1), 1.0, atol=1e-4) and (proba >= 0).all()
    assert predictions["pred"].tolist() == [classes[i] for i in proba.argmax(1)]
    assert np.allclose(predictions["confidence"], proba.max(1), atol=1e-4)

    # a recorded video of the pet jumping, walking, then turning, 1.6 s each; a rule flag
    # reaches the clip model's stream as it does a sequence model's
    session = write_session_video(tmp_path / "session.mp4", ("up", "right", "clockwise"), frames_each=FRAMES, size=SIZE)
    streamed = invoke("stream", run, "--source", session, "--events", tmp_path / "events.jsonl", "--min-event-s", 0.5)
    assert f"{3 * FRAMES} frames" in streamed.output and "min event 0.50 s" in streamed.output
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [event["type"] for event in events] == ["start", "end"] * (len(events) // 2), streamed.output
    assert [event["label"] for event in events[::2]] == [event["label"] for event in events[1::2]]
    assert {event["label"] for event in events} <= set(classes)
    times = [event["time"] for event in events]
    assert times == sorted(times) and times[-1] <= 3 * FRAMES / FPS
    assert all(end["time"] - start["time"] >= 0.5 for start, end in zip(events[::2], events[1::2]))
    turning = [
        (start["time"], end["time"]) for start, end in zip(events[::2], events[1::2]) if start["label"] == "turn"
    ]
    assert any(end > 2 * FRAMES / FPS + 0.5 and start < 3 * FRAMES / FPS for start, end in turning), events
    assert [json.loads(line) for line in streamed.stdout.splitlines() if line.startswith("{")] == events

    exported = invoke("export", run, "--data", tmp_path / "new", "--out", tmp_path / "model.onnx")
    assert "max |onnx - " in exported.output
    reference = readme_clip_reference()
    for row, video in enumerate(predictions["id"]):
        labels, onnx_proba = reference["clip_probabilities"](tmp_path / "model.onnx", video)
        assert labels == classes and np.allclose(onnx_proba, proba[row], atol=1e-4)
