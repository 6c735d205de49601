"""The array folder (X.npy memory-mapped + samples.npz) through the CLI: `dataset build --format
folder` writes the same samples as the .npz, and train, eval and predict read it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.loading import load_dataset

SMALL = ["--model", "minirocket", "-o", "num_features=168", "--no-progress"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result


def test_windows_built_as_an_array_folder_train_evaluate_and_predict_as_the_npz_does(tmp_path):
    invoke("dataset", "generate", "--out", tmp_path / "syn", "--recordings", 6, "--seed", 0)
    build = [
        "dataset",
        "build",
        "--recordings",
        tmp_path / "syn" / "recordings",
        "--segments",
        tmp_path / "syn" / "segments.csv",
        "--window",
        20,
        "--stride",
        10,
    ]
    invoke(*build, "--out", tmp_path / "windows.npz")
    invoke(*build, "--out", tmp_path / "windows", "--format", "folder")
    assert sorted(p.name for p in (tmp_path / "windows").iterdir()) == ["X.npy", "samples.npz"]

    packed, folder = load_dataset(tmp_path / "windows.npz"), load_dataset(tmp_path / "windows")
    assert isinstance(folder.X.base, np.memmap) or isinstance(folder.X, np.memmap)  # read in place, not copied
    np.testing.assert_array_equal(folder.X, packed.X)
    for name in ("lengths", "y", "groups", "ids"):
        np.testing.assert_array_equal(getattr(folder, name), getattr(packed, name))
    assert (folder.label_names, folder.schema, folder.sample_rate_hz) == (
        packed.label_names,
        packed.schema,
        packed.sample_rate_hz,
    )

    run = tmp_path / "run"
    invoke("train", "--data", tmp_path / "windows", "--out", run, *SMALL)
    assert json.loads((run / "metrics.json").read_text())["test"]["n"] > 0
    invoke("eval", run, "--data", tmp_path / "windows", "--out", tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text())["n"] == packed.n_samples

    invoke("predict", run, "--data", tmp_path / "windows", "--out", tmp_path / "folder.csv")
    invoke("predict", run, "--data", tmp_path / "windows.npz", "--out", tmp_path / "packed.csv")
    assert (tmp_path / "folder.csv").read_bytes() == (tmp_path / "packed.csv").read_bytes()
    assert len(pd.read_csv(tmp_path / "folder.csv")) == packed.n_samples
