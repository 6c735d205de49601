"""The `actrec` command end to end: train, eval, predict, info, and its errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app

runner = CliRunner()
SMALL = ["--model", "gru", "-o", "hidden_sizes=[16]", "-o", "dense=[]", "--epochs", "4", "--no-progress"]


def train(data: Path, out: Path, *extra: str) -> None:
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(out), *SMALL, *extra])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def trained(waves_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run") / "run"
    train(waves_npz, run, "--seed", "7")
    return run


def test_train_writes_the_run_folder(trained: Path):
    for name in (
        "model.actrec",
        "metrics.json",
        "history.csv",
        "curves.png",
        "confusion.png",
        "report.md",
        "per_class.csv",
    ):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert set(metrics) == {"val", "test", "cut_by_time_budget"} and metrics["cut_by_time_budget"] is False
    assert set(metrics["test"]) == {"top1", "top5", "macro_f1", "log_loss", "n"}
    history = pd.read_csv(trained / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4]
    assert {"train_loss", "val_loss", "train_acc", "val_acc", "lr"} <= set(history.columns)


def test_same_seed_gives_identical_metrics(waves_npz: Path, trained: Path, tmp_path: Path):
    train(waves_npz, tmp_path / "again", "--seed", "7")
    assert (tmp_path / "again" / "metrics.json").read_text() == (trained / "metrics.json").read_text()


def test_saved_model_predicts_identically_in_a_fresh_process(trained: Path, waves_npz: Path, tmp_path: Path):
    from actrec.data.loading import load_dataset
    from actrec.recognizers import Recognizer

    expected = Recognizer.load(trained).predict_proba(load_dataset(waves_npz))
    preds = tmp_path / "elsewhere" / "preds.csv"
    preds.parent.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "actrec.cli",
            "predict",
            str(trained.resolve()),
            "--data",
            str(waves_npz.resolve()),
            "--out",
            "preds.csv",
        ],
        cwd=preds.parent,
        check=True,
        capture_output=True,
    )
    table = pd.read_csv(preds)
    assert list(table.columns) == ["id", "pred", "confidence", "class0", "class1", "class2"]
    assert np.array_equal(table[["class0", "class1", "class2"]].to_numpy(np.float32), expected)
    assert (table["pred"] == np.array(["class0", "class1", "class2"])[expected.argmax(1)]).all()


def test_eval_and_info(trained: Path, waves_npz: Path, tmp_path: Path):
    result = runner.invoke(app, ["eval", str(trained), "--data", str(waves_npz), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["n"] == 120
    result = runner.invoke(app, ["info", str(trained), "--json"])
    assert result.exit_code == 0 and '"label_names"' in result.output and '"parameters"' in result.output


def test_info_is_a_short_summary_and_json_the_whole_metadata(trained: Path):
    """A person reads a dozen lines (not the metadata's every joint and pipeline value); --json is
    for scripts and keeps everything the file holds."""
    summary = runner.invoke(app, ["info", str(trained)])
    assert summary.exit_code == 0, summary.output
    lines = summary.stdout.splitlines()
    assert len(lines) <= 12 and not summary.stdout.lstrip().startswith("{")
    fields = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert fields["model"] == "gru" and fields["kind"] == "sequence"
    assert fields["classes"] == "3: class0, class1, class2"
    assert fields["window"].startswith("32 steps") and "features [T, 4]" in fields["input"]
    assert "standardize" in fields["features"] and "parameters" in fields["size"] and "MB" in fields["size"]
    test = json.loads((trained / "metrics.json").read_text())["test"]
    assert f"test (n={test['n']}) top-1 {test['top1']:.3f}" in fields["metrics"]
    whole = json.loads(runner.invoke(app, ["info", str(trained), "--json"]).stdout)
    assert whole["pipeline"][-1]["name"] == "standardize" and "mean" in json.dumps(whole["pipeline"][-1])
    assert whole["metrics"]["test"] == test and whole["parameters"] > 0


class Payload:
    def __reduce__(self):
        return (Path.touch, (Path(sys.argv[0]).parent / "PWNED",))


def test_pickle_payload_is_refused_and_never_run(tmp_path: Path):
    marker = Path(sys.argv[0]).parent / "PWNED"
    bad = tmp_path / "model.actrec"
    bad.write_bytes(pickle.dumps({"state_dict": Payload()}))
    result = runner.invoke(app, ["info", str(bad)])
    assert result.exit_code == 2
    assert "not a readable actrec model" in result.output and "never unpickles" in result.output
    assert not marker.exists()


def test_truncated_model_file_is_named(trained: Path, tmp_path: Path):
    data = (trained / "model.actrec").read_bytes()
    cut = tmp_path / "cut.actrec"
    cut.write_bytes(data[: len(data) // 2])
    result = runner.invoke(app, ["predict", str(cut), "--data", "x.npz", "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 2
    assert "cut.actrec: not a readable actrec model" in result.output
    assert "Traceback" not in result.output


def test_unknown_model_is_one_line(waves_npz: Path, tmp_path: Path):
    result = runner.invoke(
        app, ["train", "--data", str(waves_npz), "--out", str(tmp_path / "r"), "--model", "resnet9000"]
    )
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "unknown model 'resnet9000'; choose one of:" in result.output


def test_failed_run_keeps_existing_results(trained: Path, tmp_path: Path, waves_npz: Path):
    from tests.helpers.waves import make_waves

    odd = make_waves(n=12)
    odd.label_names = ["class0", "class1", "never-seen"]
    odd.to_npz(str(tmp_path / "odd_test.npz"))
    before = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    result = runner.invoke(
        app,
        ["train", "--data", str(waves_npz), "--out", str(trained), "--test", str(tmp_path / "odd_test.npz"), *SMALL],
    )
    assert result.exit_code == 2
    assert "sample s2 has label 'never-seen', not among the 3 training labels" in result.output
    after = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    assert after == before


def test_run_failing_after_training_keeps_existing_results(
    trained: Path, waves_npz: Path, monkeypatch: pytest.MonkeyPatch
):
    from actrec.errors import ActrecError
    from actrec.runs import sequences as run

    def broken_report(out, *args, **kwargs):
        (Path(out) / "metrics.json").write_text("half")
        raise ActrecError("disk full while writing the report")

    monkeypatch.setattr(run, "write_run", broken_report)
    before = {p.name: p.read_bytes() for p in trained.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["train", "--data", str(waves_npz), "--out", str(trained), *SMALL])
    assert result.exit_code == 2 and "disk full" in result.output
    assert {p.name: p.read_bytes() for p in trained.rglob("*") if p.is_file()} == before


def test_resume_from_checkpoint_continues_training(waves_npz: Path, trained: Path, tmp_path: Path):
    checkpoint = trained / "checkpoints" / "last.ckpt"
    assert checkpoint.is_file()
    train(waves_npz, tmp_path / "resumed", "--seed", "7", "--epochs", "6", "--resume", str(checkpoint))
    history = pd.read_csv(tmp_path / "resumed" / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4, 5, 6]  # the first four from the checkpoint
    assert history.iloc[:4].equals(pd.read_csv(trained / "history.csv"))


def test_ddp_with_two_cpu_processes(waves_npz: Path, tmp_path: Path):
    """Lightning's DDP (gloo on CPU) trains with 2 processes; rank 0 alone writes the run."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "actrec.cli",
            "train",
            "--data",
            str(waves_npz),
            "--out",
            str(tmp_path / "ddp"),
            *SMALL,
            "--devices",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "trained with DDP over 2 processes" in result.stderr
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["test"]["n"] > 0


def test_a_split_lacking_a_class_is_pointed_out(tmp_path: Path):
    """With one class per subject and few subjects, whole-group splits can miss a class."""
    from tests.helpers.waves import make_waves

    data = make_waves(n=36)
    data.groups = np.array([f"subject{i % 6}" for i in range(36)])  # 2 subjects per class
    data.to_npz(str(tmp_path / "few_groups.npz"))
    result = runner.invoke(
        app, ["train", "--data", str(tmp_path / "few_groups.npz"), "--out", str(tmp_path / "r"), *SMALL]
    )
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())  # notes may wrap at the terminal width
    assert "has 2 groups (videos, subjects or sessions)" in printed and "it is kept in train and test" in printed
    assert json.loads((tmp_path / "r" / "config.json").read_text())["notes"]


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_printed_results_are_not_wrapped_whatever_the_terminal_width(
    trained: Path, waves_npz: Path, columns: str, monkeypatch: pytest.MonkeyPatch
):
    """Scripts and logs read the tables and JSON from a pipe: each title, row and value stays on one line."""
    monkeypatch.setenv("COLUMNS", columns)
    result = runner.invoke(app, ["eval", str(trained), "--data", str(waves_npz)])
    assert result.exit_code == 0, result.output
    assert f"{trained} on {waves_npz}" in result.stdout.splitlines()
    row = next(line for line in result.stdout.splitlines() if "eval" in line and "120" in line)
    assert row.count(".") == 3  # top-1, macro-F1 and log-loss (no top-5 with 3 classes) on one line
    result = runner.invoke(app, ["info", str(trained), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label_names"] == ["class0", "class1", "class2"]


def test_npy_windows_get_groups_and_names_and_the_notes_a_user_needs(tmp_path: Path):
    """Sign-language windows in a .npy: names for the class numbers, a warning without groups, a
    near-chance run said to be one, no top-5 column for 3 classes, and eval pointing at --label-last."""
    rng = np.random.default_rng(0)
    X = rng.normal(scale=0.01, size=(90, 6, 5)).astype(np.float32)  # nothing to learn: labels are noise
    X[:, :, -1] = rng.permutation(np.arange(90) % 3)[:, None]
    np.save(tmp_path / "signs.npy", X)
    (tmp_path / "videos.txt").write_text("".join(f"video{i // 3}\n" for i in range(90)))
    args = [
        "train",
        "--data",
        str(tmp_path / "signs.npy"),
        "--label-last",
        "--label-names",
        "hello,thanks,yes",
        "--model",
        "gru",
        "-o",
        "hidden_sizes=[4]",
        "-o",
        "dense=[]",
        "--epochs",
        "1",
        "--no-progress",
    ]

    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "signs.npy has no groups" in result.output and "--groups FILE" in result.output
    assert "near chance" in result.output and "--epochs" in result.output
    assert "top-1" in result.stdout and "top-5" not in result.stdout
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["test"]["n"] > 0

    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--groups", str(tmp_path / "videos.txt")])
    assert result.exit_code == 0, result.output
    assert "has no groups" not in result.output
    assert json.loads(runner.invoke(app, ["info", str(tmp_path / "b"), "--json"]).stdout)["label_names"] == [
        "hello",
        "thanks",
        "yes",
    ]

    result = runner.invoke(app, ["eval", str(tmp_path / "b"), "--data", str(tmp_path / "signs.npy")])
    assert result.exit_code == 2
    assert (
        "each step has 5 columns, one more than the model's 4; if the last column is the label, add --label-last"
        in result.output
    )
    result = runner.invoke(
        app,
        [
            "eval",
            str(tmp_path / "b"),
            "--data",
            str(tmp_path / "signs.npy"),
            "--label-last",
            "--label-names",
            "hello,thanks,yes",
        ],
    )
    assert result.exit_code == 0, result.output


def test_info_lists_the_members_of_an_ensemble():
    from actrec.recognizers import Recognizer

    recognizer = Recognizer(model="auto")
    recognizer.window_length, recognizer.frame_shape, recognizer.sample_rate_hz = 30, (17, 2), 30.0
    recognizer.config.model_options = {
        "members": [{"model": "multirocket", "options": {}}, {"model": "gru", "options": {}}],
        "weights": [0.75, 0.25],
    }
    rows = recognizer.describe()
    assert rows["members"] == "multirocket (weight 0.75), gru (weight 0.25)"
    assert rows["window"] == "30 steps at 30 Hz" and rows["input"] == "keypoints [T, 17, 2]"
