"""A clip model goes through the consumers' common door (`predict_data`, `read_data`): `predict`
takes several clip folders into one CSV each, as it does data files for a sequence model,
reports a bad video in one line and goes on, and refuses the sequence-only flags in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.clips import load_clips
from actrec.recognizers.clip import VideoRecognizer
from tests.helpers.clip_data import NEEDS_OPENCV
from tests.helpers.clip_models import LABELS, save_tiny_clip_model, write_session_video

pytest.importorskip("cv2", reason=NEEDS_OPENCV)

runner = CliRunner()


def clip_folder(folder: Path, labels: tuple[str, ...]) -> Path:
    """A folder of one short video per label (no class folders: unlabelled clips)."""
    folder.mkdir(parents=True)
    for index, label in enumerate(labels):
        write_session_video(folder / f"{label}.mp4", (label,), frames_each=12, size=24, seed=index)
    return folder


def test_predict_writes_one_csv_per_clip_folder_and_skips_a_bad_video(tmp_path: Path) -> None:
    run = save_tiny_clip_model(tmp_path / "run")
    first, second = clip_folder(tmp_path / "monday", ("left", "up")), clip_folder(tmp_path / "tuesday", ("right",))
    (second / "broken.mp4").write_bytes(b"not a video")
    result = runner.invoke(
        app,
        ["predict", str(run), "--data", str(first), "--data", str(second), "--out", str(tmp_path / "out")],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "broken.mp4" in result.output and "2 of 2 files" in result.output
    recognizer = VideoRecognizer.load(run)
    for folder, rows in ((first, 2), (second, 1)):
        table = pd.read_csv(tmp_path / "out" / f"{folder.name}.csv")
        assert len(table) == rows and list(table.columns[3:]) == LABELS
        expected = recognizer.predict_proba(load_clips(folder / table["id"][0]))[0]
        assert np.abs(table.loc[0, LABELS].to_numpy(float) - expected).max() < 1e-5


def test_predict_refuses_sequence_flags_for_a_clip_model_in_one_line(tmp_path: Path) -> None:
    run = save_tiny_clip_model(tmp_path / "run")
    folder = clip_folder(tmp_path / "clips", ("left",))
    result = runner.invoke(
        app, ["predict", str(run), "--data", str(folder), "--out", str(tmp_path / "p.csv"), "--window", "5"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--window" in result.output and "clip folder" in " ".join(result.output.split())
