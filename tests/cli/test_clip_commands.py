"""The CLI on clips: train (with a corrupt file), eval, predict, info, compare, export, stream."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.synthetic_clips import write_video
from actrec.io.clips import decode_video
from tests.helpers.clip_data import NEEDS_OPENCV

pytest.importorskip("cv2", reason=NEEDS_OPENCV)

runner = CliRunner()
TINY_FLAGS = [
    "-o",
    "depth=10",
    "-o",
    "width=8",
    "-o",
    "size=24",
    "-o",
    "jitter=0",
    "--epochs",
    "8",
    "--batch-size",
    "4",
    "--lr",
    "2e-3",
    "--no-progress",
]


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def clips_with_a_corrupt_file(motion_clips: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad") / "clips"
    shutil.copytree(motion_clips, folder)
    (folder / "left" / "broken.mp4").write_bytes(b"\x00not a video" * 50)
    return folder


@pytest.fixture(scope="module")
def clip_run(clips_with_a_corrupt_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run = tmp_path_factory.mktemp("run") / "run"
    output = invoke("train", "--data", str(clips_with_a_corrupt_file), "--out", str(run), "--model", "r3d", *TINY_FLAGS)
    return run, output


def test_a_corrupt_video_is_one_line_and_the_rest_train(clip_run: tuple[Path, str]) -> None:
    run, output = clip_run
    lines = [line for line in output.splitlines() if "broken.mp4" in line]
    assert len(lines) == 1 and "skipped" in lines[0] and "Traceback" not in output
    config = json.loads((run / "config.json").read_text())
    assert config["n_train"] + config["n_val"] + config["n_test"] == 120  # every good clip, not the broken one
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["test"]) == {"top1", "top5", "macro_f1", "log_loss", "n"}
    assert {"model.actrec", "report.md", "history.csv", "confusion.csv"} <= {p.name for p in run.iterdir()}


def test_stop_on_bad_video_names_the_file(clips_with_a_corrupt_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(clips_with_a_corrupt_file),
            "--out",
            str(tmp_path / "run"),
            "--model",
            "tsn",
            "--on-bad-video",
            "stop",
            "--epochs",
            "1",
            "--no-progress",
        ],
    )
    assert result.exit_code == 2
    assert "broken.mp4" in result.output and "Traceback" not in result.output


def test_too_short_and_empty_videos_are_reported(motion_clips: Path, tmp_path: Path) -> None:
    from actrec.data.clip_prepare import prepare_clips
    from actrec.data.clips import load_clips
    from actrec.io.clips import FrameCache

    folder = tmp_path / "clips"
    shutil.copytree(motion_clips, folder)
    write_video(folder / "right" / "short.mp4", decode_video(next((folder / "right").glob("*.mp4")), 24)[0][:3], 10)
    (folder / "left" / "empty.mp4").write_bytes(b"")
    usable, messages = prepare_clips(load_clips(folder), FrameCache(tmp_path / "cache", 24), min_frames=8)
    assert usable.n_samples == 120 and len(messages) == 2
    assert "empty.mp4" in messages[0] and "empty" in messages[0].split("empty.mp4")[1]
    assert "short.mp4" in messages[1] and "too short" in messages[1]


def test_eval_predict_and_info_read_the_clip_model(
    clip_run: tuple[Path, str], motion_clips: Path, tmp_path: Path
) -> None:
    run, _ = clip_run
    assert "eval" in invoke("eval", str(run), "--data", str(motion_clips))
    out = tmp_path / "pred.csv"
    invoke("predict", str(run), "--data", str(motion_clips / "left"), "--out", str(out))
    table = pd.read_csv(out)
    assert len(table) == 60 and list(table.columns[3:]) == ["left", "right"]
    assert np.allclose(table[["left", "right"]].sum(1), 1.0, atol=1e-4)
    assert '"kind": "video"' in invoke("info", str(run), "--json")


def test_eval_and_predict_average_test_clips_and_crops(
    clip_run: tuple[Path, str], motion_clips: Path, tmp_path: Path
) -> None:
    run, _ = clip_run
    out = tmp_path / "pred.csv"
    invoke(
        "predict",
        str(run),
        "--data",
        str(motion_clips / "right"),
        "--out",
        str(out),
        "--test-clips",
        "3",
        "--test-crops",
        "3",
    )
    assert len(pd.read_csv(out)) == 60
    assert "eval" in invoke("eval", str(run), "--data", str(motion_clips), "--test-clips", "2", "--test-crops", "3")
    result = runner.invoke(app, ["eval", str(run), "--data", str(motion_clips), "--test-crops", "2"])
    assert result.exit_code == 2 and "test_crops 2" in result.output and "Traceback" not in result.output


def test_export_of_the_clip_model_matches_torch(clip_run: tuple[Path, str], motion_clips: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    run, _ = clip_run
    output = invoke("export", str(run), "--data", str(motion_clips / "left"), "--out", str(tmp_path / "model.onnx"))
    differences = [
        float(value)
        for value in re.findall(
            r"= ?([0-9.]+e[-+][0-9]+) on random|([0-9.]+e[-+][0-9]+) on real", output.replace("\n", " ")
        )
        for value in value
        if value
    ]
    assert (tmp_path / "model.onnx").is_file() and len(differences) == 2 and max(differences) < 1e-4


def test_compare_prints_mean_std_and_clips_per_second(motion_clips: Path, tmp_path: Path) -> None:
    """The acceptance command (`--model tsn --model tsm --model r3d --model slowfast --seeds 3`) at tiny widths."""
    tiny = '{"width": 4, "depth": 10, "size": 24}'
    models = [arg for name in ("tsn", "tsm", "r3d", "slowfast") for arg in ("--model", f"{name}:{tiny}")]
    result = runner.invoke(
        app,
        [
            "compare",
            "--data",
            str(motion_clips),
            "--out",
            str(tmp_path / "cmp"),
            *models,
            "--seeds",
            "3",
            "--epochs",
            "1",
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "clips/s" in result.output and result.output.count("±") >= 4 * 4
    summary = pd.read_csv(tmp_path / "cmp" / "summary.csv")
    assert [name.split()[0] for name in summary["config"]] == ["tsn", "tsm", "r3d", "slowfast"]
    assert summary["runs"].tolist() == [3, 3, 3, 3] and (summary["clips_per_s_mean"] > 0).all()


def test_stream_on_a_video_writes_events(clip_run: tuple[Path, str], motion_clips: Path, tmp_path: Path) -> None:
    run, _ = clip_run
    video = tmp_path / "session.mp4"
    parts = sorted((motion_clips / "left").glob("*.mp4"))[:3] + sorted((motion_clips / "right").glob("*.mp4"))[:3]
    write_video(video, np.concatenate([decode_video(path, 24)[0] for path in parts]), 10)
    events = tmp_path / "events.jsonl"
    output = invoke("stream", str(run), "--source", str(video), "--events", str(events))
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines and {line["type"] for line in lines} <= {"start", "end"}
    assert lines[0]["type"] == "start" and lines[-1]["type"] == "end"
    assert "clip predictions" in output


def test_a_clip_compare_cuts_its_splits_once_and_passes_validation_down(
    motion_clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import actrec.data.splits as splits
    import actrec.experiments.clip_compare as clip_compare
    from actrec.data.clips import load_clips
    from actrec.experiments.compare import ModelSpec

    calls: list[float] = []
    original = splits.holdout_split
    monkeypatch.setattr(splits, "holdout_split", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    seen: list[tuple[list[str], list[str], list[str]]] = []
    monkeypatch.setattr(
        clip_compare,
        "evaluate_clip_run",
        lambda options, train, validation, test, seed: (
            seen.append((train.ids.tolist(), validation.ids.tolist(), test.ids.tolist()))
            or {
                "top1": 1.0,
                "top5": 1.0,
                "macro_f1": 1.0,
                "log_loss": 0.0,
                "n": test.n_samples,
                "param_count": 1,
                "train_time_s": 1.0,
                "train_clips_per_s": 1.0,
                "clips_per_s": 1.0,
                "latency_us": 1.0,
            }
        ),
    )
    specs = [ModelSpec("a", {"model": "tsn", "epochs": 1}), ModelSpec("b", {"model": "tsm", "epochs": 1})]
    clip_compare.compare_clips(
        load_clips(motion_clips), specs, tmp_path / "cmp", seeds=[0, 1], test_fraction=0.25, use_cache=False
    )
    assert calls == [0.25, 0.2]  # test, then validation, once for all four runs
    assert len(seen) == 4 and all(run == seen[0] for run in seen)
    train, validation, test = (set(part) for part in seen[0])
    assert validation and train.isdisjoint(validation) and test.isdisjoint(train | validation)
