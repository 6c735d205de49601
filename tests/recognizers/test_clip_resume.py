"""A stopped clip `actrec train` resumes to the result of a straight run and is never published
as finished, as sequence runs do (tests/training/test_resume.py).

Real training processes are stopped with real signals on tiny generated clips (24 px, 8 frames,
a width-8 R3D, 24 clips: a fraction of a second per epoch on one thread); the tests poll the run's checkpoint
instead of sleeping a fixed time.
"""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.synthetic_clips import write_synthetic_clips
from tests.helpers.clip_data import NEEDS_OPENCV
from tests.helpers.stopping import (
    assert_same_run,
    epochs_saved,
    finish,
    log_path,
    start_train,
    wait_for_epochs,
)

pytest.importorskip("cv2", reason=NEEDS_OPENCV)

EPOCHS = 6
OPTIONS = [
    "--model",
    "r3d",
    "-o",
    "depth=10",
    "-o",
    "width=8",
    "-o",
    "size=24",
    "-o",
    "frames=8",
    "-o",
    "jitter=0",
    "--epochs",
    str(EPOCHS),
    "--batch-size",
    "2",
    "--patience",
    "50",
    "--seed",
    "3",
]
runner = CliRunner()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_clips(
        tmp_path_factory.mktemp("clips") / "clips", per_class=12, frames=8, size=24, classes=("left", "right"), seed=1
    )


@pytest.fixture(scope="module")
def straight(clips: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run trained straight through, in its own process like the stopped and resumed ones:
    in the test process, after the whole suite's earlier tests, the same run's log-loss came out
    different in its 8th digit."""
    run = tmp_path_factory.mktemp("straight") / "run"
    code, log = finish(start_train(clips, run, [*OPTIONS, "--no-progress"]), run)
    assert code == 0, log[-2000:]
    assert len((run / "history.csv").read_text().splitlines()) == EPOCHS + 1  # the whole run, no early stop
    return run


def resume(clips: Path, run: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Resume `run` in a new process; the epochs it trained, read from its one line per epoch
    (what it prints when not on a terminal, forced here whatever the test runner's settings)."""
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    earlier = len(log_path(run).read_text()) if log_path(run).is_file() else 0
    code, log = finish(start_train(clips, run, [*OPTIONS, "--resume", str(run)]), run)
    assert code == 0, log[-2000:]
    return [int(epoch) for epoch in re.findall(rf"^epoch (\d+)/{EPOCHS} ", log[earlier:], re.MULTILINE)]


def test_a_killed_clip_run_resumes_to_the_straight_runs_weights_and_metrics(
    clips: Path, straight: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    run = tmp_path / "run"
    process = start_train(clips, run, [*OPTIONS, "--no-progress"])
    wait_for_epochs(process, run, 2)
    process.kill()
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert not (run / "model.actrec").exists() and not (run / "metrics.json").exists()
    done = epochs_saved(run)
    assert resume(clips, run, monkeypatch) == list(range(done + 1, EPOCHS + 1))  # every finished epoch kept
    assert_same_run(run, straight)
    assert not (run / "partial").exists() and (run / "checkpoints" / "last.ckpt").is_file()


def test_a_clip_run_stopped_by_sigterm_exits_143_publishes_nothing_and_resumes(
    clips: Path, straight: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    run = tmp_path / "run"
    shutil.copytree(straight, run)  # an earlier finished result the stopped run must not replace
    before = {p.name: (p.stat().st_ino, p.read_bytes()) for p in run.iterdir() if p.is_file()}
    process = start_train(clips, run, [*OPTIONS, "--no-progress"])
    wait_for_epochs(process, run, 1)
    process.send_signal(signal.SIGTERM)
    code, log = finish(process, run)
    assert code == 143, log[-2000:]
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: training stopped by SIGTERM"), log[-2000:]
    assert f"nothing published in {run}; to resume, run the same command with --resume {run}" in lines[0]
    assert {p.name: (p.stat().st_ino, p.read_bytes()) for p in run.iterdir() if p.is_file()} == before
    done = epochs_saved(run)
    assert resume(clips, run, monkeypatch) == list(range(done + 1, EPOCHS + 1))
    assert_same_run(run, straight)
    assert (run / "model.actrec").stat().st_ino != before["model.actrec"][0]  # published anew


def test_resuming_a_clip_run_with_other_settings_is_refused_in_one_line(clips: Path, straight: Path, tmp_path: Path):
    run = Path(shutil.copytree(straight, tmp_path / "run"))
    last = (run / "checkpoints" / "last.ckpt").read_bytes()
    changed = [option.replace("width=8", "width=12").replace("frames=8", "frames=6") for option in OPTIONS]
    result = runner.invoke(
        app, ["train", "--data", str(clips), "--out", str(run), *changed, "--no-progress", "--resume", str(run)]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "cannot resume, it was trained with other settings" in result.output
    assert "'width': 8" in result.output and "'frames': 8" in result.output, result.output
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == last and not (run / "partial").exists()


def test_resuming_with_augmenting_workers_draws_the_straight_runs_augmentation(clips: Path, tmp_path: Path):
    """DataLoader workers copy the dataset when they start, before the resumed epoch's first hook:
    the epoch number its augmentation is drawn from must already be set by then."""
    from actrec.data.clips import load_clips
    from actrec.recognizers.clip import VideoRecognizer

    data = load_clips(clips)
    options = dict(
        model_options={"depth": 10, "width": 8},
        clip={"size": 24, "frames": 8, "jitter": 0.5, "min_scale": 0.3, "workers": 1},
        batch_size=4,
        scheduler="none",
        patience=50,
        seed=3,
    )
    straight = VideoRecognizer("r3d", epochs=2, **options).fit(data, work_dir=tmp_path / "straight")
    VideoRecognizer("r3d", epochs=1, **options).fit(data, work_dir=tmp_path / "split")
    resumed = VideoRecognizer("r3d", epochs=2, **options).fit(
        data, work_dir=tmp_path / "split", resume_from=tmp_path / "split" / "checkpoints" / "last.ckpt"
    )
    assert resumed.history.equals(straight.history)
    for name, tensor in straight.network.state_dict().items():
        assert torch.equal(resumed.network.state_dict()[name], tensor), name
