"""`actrec stream` and `actrec export` from the command line."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.dataset import SequenceDataset
from actrec.recognizer import Recognizer

torch.set_num_threads(1)
NAMES = ["ax", "ay", "az"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 8, 3)).astype(np.float32)
    X[::2, :, 0] += 3.0
    dataset = SequenceDataset(X=X, lengths=np.full(24, 8), y=np.arange(24) % 2, label_names=["still", "shake"],
                              feature_names=NAMES, sample_rate_hz=10.0)
    Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(dataset).save(folder / "model.actrec")
    session = pd.DataFrame(rng.normal(size=(40, 3)), columns=NAMES)
    session.insert(0, "time", np.arange(40) / 10.0)
    session.to_csv(folder / "session.csv", index=False)
    return folder


def test_stream_command_writes_events_and_reports_counts(run_dir):
    events = run_dir / "events.jsonl"
    result = CliRunner().invoke(app, ["stream", str(run_dir), "--source", f"csv:{run_dir / 'session.csv'}",
                                      "--events", str(events), "--fast"])
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
    assert "max |onnx - torch| logits" in result.output
