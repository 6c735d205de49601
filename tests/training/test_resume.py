"""A stopped `actrec train` resumes to the result of a straight run, and is never published as finished.

Real training processes are stopped with real signals: SIGKILL (nothing runs after it) and
SIGINT / SIGTERM (Lightning's handlers run; the run must still exit non-zero, unpublished). The
tests poll the run folder for the checkpoint of an epoch instead of sleeping a fixed time.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from actrec.cli import app
from actrec.errors import TrainingInterrupted
from actrec.runs.life_cycle import build_in_partial
from tests.helpers.stopping import assert_same_run, finish, start_train, wait_for_epochs

EPOCHS = 8
OPTIONS = [
    "--model",
    "gru",
    "-o",
    "hidden_sizes=[8]",
    "-o",
    "dense=[8]",
    "--epochs",
    str(EPOCHS),
    "--patience",
    "50",
    "--lr",
    "0.01",
    "--seed",
    "3",
    "--no-progress",
]
runner = CliRunner()


def start(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    return start_train(data, out, [*OPTIONS, *extra])


@pytest.fixture(scope="module")
def straight(waves_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """In its own process, as the stopped and resumed runs: in the test process, after the whole
    suite's earlier tests, a clip run's log-loss came out different in its 8th digit."""
    run = tmp_path_factory.mktemp("straight") / "run"
    code, log = finish(start(waves_npz, run), run)
    assert code == 0, log[-2000:]
    assert len((run / "history.csv").read_text().splitlines()) == EPOCHS + 1  # the whole run, no early stop
    return run


def test_a_killed_run_resumes_to_the_straight_runs_weights_and_metrics(waves_npz: Path, straight: Path, tmp_path: Path):
    run = tmp_path / "run"
    process = start(waves_npz, run)
    wait_for_epochs(process, run, 2)
    process.kill()
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert not (run / "model.actrec").exists() and not (run / "metrics.json").exists()
    code, log = finish(start(waves_npz, run, "--resume", str(run)), run)  # a new process, as the straight run
    assert code == 0, log[-2000:]
    assert_same_run(run, straight)
    assert not (run / "partial").exists()
    assert (run / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_exits_non_zero_and_keeps_the_earlier_result(
    stop: signal.Signals, waves_npz: Path, straight: Path, tmp_path: Path
):
    run = tmp_path / "run"
    shutil.copytree(straight, run)  # an earlier finished result the stopped run must not replace
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    # 400 epochs: the run cannot finish between the checkpoint this test sees and the signal (with
    # 8, a busy machine let it publish first, and the signal found no process)
    process = start(waves_npz, run, "--seed", "4", "--epochs", "400")
    wait_for_epochs(process, run, 1)
    process.send_signal(stop)
    code, log = finish(process, run)
    assert code == 128 + stop, log[-2000:]
    lines = [line for line in log.splitlines() if line.startswith("interrupted:")]
    assert len(lines) == 1, log[-2000:]
    assert f"training stopped by {stop.name}" in lines[0] and f"run the same command with --resume {run}" in lines[0]
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert (run / "partial" / "checkpoints" / "last.ckpt").is_file()


def test_ctrl_c_after_the_last_epoch_is_one_line_and_publishes_nothing(straight: Path, tmp_path: Path):
    """SIGINT outside Lightning's fit (evaluation, report) is a stop like any other."""
    run = Path(shutil.copytree(straight, tmp_path / "run"))
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}

    def evaluate_then_interrupted(partial: Path, resume: Path | None) -> None:
        shutil.copy2(straight / "checkpoints" / "last.ckpt", partial / "checkpoints" / "last.ckpt")
        (partial / "metrics.json").write_text("{}")
        raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as stop:
        build_in_partial(run, None, evaluate_then_interrupted)
    assert stop.value.exit_code == 130 and stop.value.checkpoint == str(run / "partial" / "checkpoints" / "last.ckpt")
    assert "training stopped by SIGINT after its last epoch" in str(stop.value)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert (run / "partial" / "checkpoints" / "last.ckpt").is_file()


@pytest.fixture()
def stopped(straight: Path, tmp_path: Path) -> Path:
    """A RUN folder whose checkpoints a resume would continue (here: extend to more epochs)."""
    return Path(shutil.copytree(straight, tmp_path / "run"))


def test_resuming_with_other_settings_is_refused_in_one_line(stopped: Path, straight: Path, waves_npz: Path):
    changed = [option.replace("hidden_sizes=[8]", "hidden_sizes=[12]").replace("0.01", "0.02") for option in OPTIONS]
    result = runner.invoke(
        app, ["train", "--data", str(waves_npz), "--out", str(stopped), *changed, "--resume", str(stopped)]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "cannot resume, it was trained with other settings" in result.output
    assert (
        "lr 0.01 (now 0.02)" in result.output and "model_options" in result.output and "hidden_sizes" in result.output
    )
    assert (stopped / "checkpoints" / "last.ckpt").read_bytes() == (straight / "checkpoints" / "last.ckpt").read_bytes()
    assert not (stopped / "partial").exists()


class Payload:
    def __reduce__(self):
        return (Path.touch, (Path(sys.argv[0]).parent / "PWNED",))


def test_a_checkpoint_carrying_a_pickled_object_is_refused_and_never_run(stopped: Path, waves_npz: Path):
    marker = Path(sys.argv[0]).parent / "PWNED"
    last = stopped / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    checkpoint["payload"] = Payload()
    torch.save(checkpoint, last)
    result = runner.invoke(
        app, ["train", "--data", str(waves_npz), "--out", str(stopped), *OPTIONS, "--resume", str(stopped)]
    )
    assert result.exit_code == 2, result.output
    assert "not a readable training checkpoint" in result.output and "never unpickles" in result.output
    assert not marker.exists()


def test_resume_needs_something_to_resume(waves_npz: Path, tmp_path: Path):
    result = runner.invoke(
        app, ["train", "--data", str(waves_npz), "--out", str(tmp_path / "run"), *OPTIONS, "--resume", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "nothing to resume" in result.output


def test_extending_a_run_equals_training_it_longer_with_balanced_sampling(tmp_path: Path):
    """In-process check of the same promise through the Python API: 2 epochs, then 2 more from the
    checkpoint, give the weights of 4 epochs in one go (class-balanced sampling draws the order)."""
    from actrec.recognizers import Recognizer
    from tests.helpers.waves import make_waves

    data = make_waves(n=60)
    options = dict(
        model_options={"hidden_sizes": [8], "dense": [8]},
        sampler="balanced",
        scheduler="none",
        lr=0.01,
        seed=1,
        patience=50,
    )
    straight = Recognizer("gru", epochs=4, **options).fit(data, work_dir=tmp_path / "straight")
    Recognizer("gru", epochs=2, **options).fit(data, work_dir=tmp_path / "split")
    resumed = Recognizer("gru", epochs=4, **options).fit(
        data, work_dir=tmp_path / "split", resume_from=tmp_path / "split" / "checkpoints" / "last.ckpt"
    )
    assert list(resumed.history["epoch"]) == [1, 2, 3, 4]
    assert resumed.history.equals(straight.history)
    for name, tensor in straight.network.state_dict().items():
        torch.testing.assert_close(resumed.network.state_dict()[name], tensor, rtol=0, atol=0, msg=name)
