"""What a user gets from a clip model is what a sequence model gives: the near-chance note and the
top-5 rule, a note on the default model, an `i3d` hint, a short `info`, an annotated `stream
--out` video, and an ONNX file with `probabilities` whose input README's NumPy code builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.clips import load_clips
from actrec.data.synthetic_clips import render_clip, write_video
from actrec.io.clips import decode_video
from actrec.recognizers.clip import VideoRecognizer
from tests.helpers.clip_data import NEEDS_OPENCV
from tests.helpers.clip_models import LABELS, readme_clip_reference, save_tiny_clip_model, write_session_video

pytest.importorskip("cv2", reason=NEEDS_OPENCV)

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def indistinguishable_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 8 copies of one video: no model can tell them apart, so every run is at chance."""
    folder = tmp_path_factory.mktemp("same") / "clips"
    video = write_video_once(tmp_path_factory.mktemp("one") / "one.mp4")
    for label in LABELS:
        (folder / label).mkdir(parents=True)
        for index in range(8):
            shutil.copy(video, folder / label / f"{label}_{index}.mp4")
    return folder


def write_video_once(path: Path) -> Path:
    write_video(path, render_clip("left", 16, 24, np.random.default_rng(0)), 10.0)
    return path


def test_a_clip_run_at_chance_says_so_and_names_the_default_model(
    indistinguishable_clips: Path, tmp_path: Path
) -> None:
    output = invoke(
        "train",
        "--data",
        str(indistinguishable_clips),
        "--out",
        str(tmp_path / "run"),
        "-o",
        "width=4",
        "-o",
        "depth=10",
        "-o",
        "size=24",
        "-o",
        "jitter=0",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--no-progress",
    )
    notes = " ".join(output.split())
    assert "near chance" in notes and "--epochs" in notes
    assert (
        "model auto (the default) chose tsm width 16 depth 10" in notes
        and "frame differences, because 24 clips are few" in notes
        and "tsm -> " in notes
    )
    assert "top-5" not in output  # 3 classes


def test_clip_compare_leaves_out_top5_for_few_classes(indistinguishable_clips: Path, tmp_path: Path) -> None:
    output = invoke(
        "compare",
        "--data",
        str(indistinguishable_clips),
        "--out",
        str(tmp_path / "cmp"),
        "--model",
        'tsn:{"width": 4, "depth": 10, "size": 24}',
        "--seeds",
        "1",
        "--epochs",
        "1",
    )
    assert "top-1" in output and "clips/s" in output and "top-5" not in output
    summary = (tmp_path / "cmp" / "summary.md").read_text()
    assert "top-1" in summary and "top-5" not in summary and "clip latency µs" in summary


def test_i3d_is_pointed_at_r3d_inflated(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--model", "i3d"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "r3d -o conv=inflated" in " ".join(result.output.split())


def test_info_of_a_clip_model_is_a_short_summary(tmp_path: Path) -> None:
    run = save_tiny_clip_model(tmp_path / "run")
    lines = invoke("info", str(run)).splitlines()
    fields = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert len(lines) <= 12 and fields["kind"] == "video" and fields["model"] == "tsn"
    assert fields["classes"] == "3: left, right, up" and fields["window"] == "16 video frames at 10 fps"
    assert "8 frames (segments sampling)" in fields["features"] and "24x24" in fields["features"]
    assert json.loads(invoke("info", str(run), "--json"))["config"]["clip"]["frames"] == 8


def test_stream_out_writes_an_annotated_video_of_every_frame(tmp_path: Path) -> None:
    run = save_tiny_clip_model(tmp_path / "run")
    source = write_session_video(tmp_path / "session.mp4", ("left", "right", "up"))
    output = invoke(
        "stream",
        str(run),
        "--source",
        str(source),
        "--out",
        str(tmp_path / "annotated.mp4"),
        "--events",
        str(tmp_path / "events.jsonl"),
    )
    assert "clip predictions" in output
    annotated, _ = decode_video(tmp_path / "annotated.mp4", 32)
    original, _ = decode_video(source, 32)
    assert len(annotated) == len(original) == 48
    assert np.abs(annotated.astype(int) - original.astype(int)).mean() > 1  # drawn on, not a copy
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("model", ["tsn", "r3d"])  # segment and dense sampling
def test_onnx_has_probabilities_and_readme_numpy_input_gives_predict_proba(model: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    run = save_tiny_clip_model(tmp_path / "run", model)
    invoke("export", str(run), "--out", str(tmp_path / "model.onnx"))
    # a wide video (the crop matters) of 21 frames (sampling does not divide it evenly)
    frames = np.concatenate([render_clip("up", 21, 32, np.random.default_rng(3))] * 2, axis=2)
    video = tmp_path / "wide.mp4"
    write_video(video, frames, 10.0)
    labels, proba = readme_clip_reference()["clip_probabilities"](tmp_path / "model.onnx", video)
    expected = VideoRecognizer.load(run).predict_proba(load_clips(video))[0]
    assert labels == LABELS and proba.shape == (3,)
    assert np.abs(proba - expected).max() < 1e-5


def test_exporting_leaves_the_recognizer_in_eval_mode(tmp_path: Path) -> None:
    """The exporter restores its module's mode; BatchNorm left training would change every later prediction."""
    pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    from actrec.export.clips import export_clip_onnx

    recognizer = VideoRecognizer.load(save_tiny_clip_model(tmp_path / "run", "r3d"))
    result = export_clip_onnx(recognizer, tmp_path / "model.onnx")
    assert not any(module.training for module in recognizer.network.modules())
    assert result.max_abs_diff_random < 1e-5
