"""Issue 19, item 3: `.npy` windows with the label in the last column go through `predict`
(`--label-last`, `--label-names`) and `export --data ... --label-last`, as through `train`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer

NAMES = ["hello", "thanks", "yes"]


@pytest.fixture(scope="module")
def signs(tmp_path_factory):
    """A model trained on [N, 6, 4] windows of three named signs, and the same layout saved as a
    MediaPipe-style .npy [N, 6, 5] whose last column is the class number."""
    folder = tmp_path_factory.mktemp("signs")
    rng = np.random.default_rng(0)
    y = np.arange(18) % 3
    X = rng.normal(size=(18, 6, 4)).astype(np.float32) + y[:, None, None]
    dataset = SequenceDataset(X=X, lengths=np.full(18, 6), y=y, label_names=NAMES)
    Recognizer(model="gru", model_options={"hidden_sizes": [4], "dense": []}, epochs=1, seed=0).fit(dataset).save(
        folder / "model.actrec"
    )
    windows = np.concatenate([X, np.broadcast_to(y[:, None, None], (18, 6, 1)).astype(np.float32)], axis=2)
    np.save(folder / "mp.npy", windows)
    return folder


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.mark.parametrize("names", [["--label-names", ",".join(NAMES)], []])
def test_predict_reads_label_last_windows_with_or_without_class_names(signs, tmp_path, names):
    out = tmp_path / "preds.csv"
    result = invoke("predict", signs, "--data", signs / "mp.npy", "--label-last", *names, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    expected = Recognizer.load(signs).predict_proba(np.load(signs / "mp.npy")[:, :, :-1])
    assert np.allclose(table[NAMES].to_numpy(), expected, atol=1e-5)


def test_export_checks_parity_on_label_last_windows(signs, tmp_path):
    result = invoke("export", signs, "--data", signs / "mp.npy", "--label-last", "--out", tmp_path / "m.onnx")
    assert result.exit_code == 0, result.output
    assert "max |onnx - predict_proba|" in result.output and (tmp_path / "m.onnx").stat().st_size > 0


def test_export_without_label_last_says_to_add_it(signs, tmp_path):
    result = invoke("export", signs, "--data", signs / "mp.npy", "--out", tmp_path / "m.onnx")
    assert result.exit_code == 2 and "add --label-last" in result.output


def test_predict_submission_writes_id_and_the_class_columns_only(signs, tmp_path):
    """Issue 19, item 7: a competition's `id,<classes>` layout."""
    out = tmp_path / "submission.csv"
    result = invoke("predict", signs, "--data", signs / "mp.npy", "--label-last", "--submission", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["id", *NAMES] and len(table) == 18
    assert np.allclose(table[NAMES].sum(axis=1), 1.0, atol=1e-5)
