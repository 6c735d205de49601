"""`actrec stream` and `actrec export` from the command line."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer

torch.set_num_threads(1)
NAMES = ["ax", "ay", "az"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 8, 3)).astype(np.float32)
    X[::2, :, 0] += 3.0
    dataset = SequenceDataset(
        X=X,
        lengths=np.full(24, 8),
        y=np.arange(24) % 2,
        label_names=["still", "shake"],
        feature_names=NAMES,
        sample_rate_hz=10.0,
    )
    Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(dataset).save(
        folder / "model.actrec"
    )
    session = pd.DataFrame(rng.normal(size=(40, 3)), columns=NAMES)
    session.insert(0, "time", np.arange(40) / 10.0)
    session.to_csv(folder / "session.csv", index=False)
    return folder


def test_stream_command_writes_events_and_reports_counts(run_dir):
    events = run_dir / "events.jsonl"
    result = CliRunner().invoke(
        app, ["stream", str(run_dir), "--source", f"csv:{run_dir / 'session.csv'}", "--events", str(events), "--fast"]
    )
    assert result.exit_code == 0, result.output
    assert "40 frames, 40 recognized, 0 dropped" in result.output
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert printed == [json.loads(line) for line in events.read_text().splitlines()]


def test_stream_command_turns_bad_input_into_one_line_and_exit_2(run_dir):
    result = CliRunner().invoke(app, ["stream", str(run_dir), "--source", "csv:nowhere.csv"])
    assert result.exit_code == 2 and "nowhere.csv: CSV file not found" in result.output


def test_export_command_prints_parity_and_writes_the_file(run_dir):
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    assert (run_dir / "model.onnx").stat().st_size > 0
    assert "max |onnx - predict_proba|" in result.output


def test_stream_picks_one_sequence_of_the_training_long_csv(run_dir, tmp_path):
    rng = np.random.default_rng(1)
    frames = [
        pd.DataFrame({"id": name, "time": np.arange(30) / 10.0, **{n: rng.normal(size=30) for n in NAMES}})
        for name in ("a", "b")
    ]
    pd.concat(frames).to_csv(tmp_path / "train.csv", index=False)
    args = ["stream", str(run_dir), "--source", f"csv:{tmp_path / 'train.csv'}", "--fast"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "holds 2 sequences (ids a, b); pick one with --id ID" in result.output
    result = CliRunner().invoke(app, [*args, "--id", "b"])
    assert result.exit_code == 0, result.output
    assert "30 frames, 30 recognized" in result.output


def test_stream_refuses_a_session_at_another_rate_unless_resampled(run_dir, tmp_path):
    session = pd.DataFrame(np.random.default_rng(2).normal(size=(40, 3)), columns=NAMES)
    session.insert(0, "time", np.arange(40) / 20.0)  # 20 Hz into the 10 Hz model
    session.to_csv(tmp_path / "fast.csv", index=False)
    args = ["stream", str(run_dir), "--source", f"csv:{tmp_path / 'fast.csv'}", "--fast"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0
    assert "sampled at 20 Hz but the model was trained at 10 Hz; add --resample" in result.output
    result = CliRunner().invoke(app, [*args, "--resample"])
    assert result.exit_code == 0, result.output
    assert "20 frames, 20 recognized" in result.output


def test_decision_rules_come_from_a_yaml_file_and_flags_over_it(run_dir, tmp_path):
    (tmp_path / "rules.yaml").write_text(
        "enter: 0.7\nexit: 0.5\nsmoothing: mean\nthresholds: {shake: 0.9}\nvote_k: 2\n"
    )
    args = [
        "stream",
        str(run_dir),
        "--source",
        f"csv:{run_dir / 'session.csv'}",
        "--fast",
        "--rules",
        str(tmp_path / "rules.yaml"),
    ]
    result = CliRunner().invoke(
        app, [*args, "--vote-k", "3", "--vote-n", "4", "--min-event-s", "0.5", "--threshold", "still=0.8"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "rules: enter 0.7, exit 0.5, shake enters at 0.9, still enters at 0.8, smoothing mean over 1 frames, "
        "vote 3 of 4, min event 0.50 s"
    ) in result.output

    (tmp_path / "bad.yaml").write_text("enter: 0.7\nhysteresis: 0.1\n")
    result = CliRunner().invoke(
        app,
        ["stream", str(run_dir), "--source", f"csv:{run_dir / 'session.csv'}", "--rules", str(tmp_path / "bad.yaml")],
    )
    assert result.exit_code == 2 and "bad.yaml: unknown rule 'hysteresis'; use any of enter, exit" in result.output
    result = CliRunner().invoke(app, [*args, "--threshold", "shake=high"])
    assert (
        result.exit_code == 2
        and "rule 'thresholds' is {'shake': 'high'}; give a map of class: probability" in result.output
    )
