"""`actrec train`'s training flags are generated from TrainConfig, so every field is reachable and a
new field cannot be forgotten."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from actrec.cli import app
from actrec.recognizers import TrainConfig

runner = CliRunner()

# a value other than the default for every field, as typed on the command line and as expected
GIVEN = {
    "model": (["--model", "gru"], "gru"),
    "model_options": (["-o", "hidden_sizes=[8]", "-o", "dense=[]"], {"hidden_sizes": [8], "dense": []}),
    "joints": (["--joints", "body,hands"], ["body", "hands"]),
    "augment": (["--augment", "jitter,scale"], ["jitter", "scale"]),
    "epochs": (["--epochs", "3"], 3),
    "batch_size": (["--batch-size", "8"], 8),
    "optimizer": (["--optimizer", "adam"], "adam"),
    "lr": (["--lr", "0.01"], 0.01),
    "weight_decay": (["--weight-decay", "0.5"], 0.5),
    "scheduler": (["--scheduler", "step"], "step"),
    "patience": (["--patience", "2"], 2),
    "monitor": (["--monitor", "val_acc"], "val_acc"),
    "class_weight": (["--class-weight", "none"], None),
    "sampler": (["--sampler", "balanced"], "balanced"),
    "val_fraction": (["--val-fraction", "0.3"], 0.3),
    "seed": (["--seed", "4"], 4),
    "devices": (["--devices", "2"], 2),
    "num_nodes": (["--num-nodes", "3"], 3),
    "time_budget": (["--time-budget", "9"], 9.0),
    "label_smoothing": (["--label-smoothing", "0.1"], 0.1),
    "mixup": (["--mixup", "0.2"], 0.2),
    "last_steps": (["--last-steps", "12"], 12),
    "modalities": (["--modalities", "joint,bone"], ["joint", "bone"]),
}


def test_every_train_config_field_is_a_train_flag():
    command = typer.main.get_command(app).commands["train"]
    flags = {opt for param in command.params for opt in param.opts}
    for config_field in dataclasses.fields(TrainConfig):
        flag = "--option" if config_field.name == "model_options" else "--" + config_field.name.replace("_", "-")
        assert flag in flags, f"TrainConfig.{config_field.name} has no {flag} on actrec train"


def test_every_flag_reaches_the_train_config(monkeypatch: pytest.MonkeyPatch, waves_npz: Path, tmp_path: Path):
    import actrec.runs.sequences

    assert set(GIVEN) == {f.name for f in dataclasses.fields(TrainConfig)}, "give the new field a value above"
    seen: list[TrainConfig] = []

    def capture(dataset, out, config, **kwargs):
        seen.append(config)

    monkeypatch.setattr(actrec.runs.sequences, "train_run", capture)
    args = [arg for flags, _ in GIVEN.values() for arg in flags]
    result = runner.invoke(app, ["train", "--data", str(waves_npz), "--out", str(tmp_path / "run"), *args])
    assert result.exit_code == 0, result.output
    assert dataclasses.asdict(seen[0]) == {name: value for name, (_, value) in GIVEN.items()}


def test_flags_go_over_the_config_file(monkeypatch: pytest.MonkeyPatch, waves_npz: Path, tmp_path: Path):
    import actrec.runs.sequences

    seen: list[TrainConfig] = []
    monkeypatch.setattr(actrec.runs.sequences, "train_run", lambda dataset, out, config, **kwargs: seen.append(config))
    config = tmp_path / "config.yaml"
    config.write_text("model: gru\nepochs: 7\nmonitor: val_acc\nlast_steps: 10\n")
    result = runner.invoke(
        app,
        ["train", "--data", str(waves_npz), "--out", str(tmp_path / "run"), "--config", str(config), "--epochs", "2"],
    )
    assert result.exit_code == 0, result.output
    assert (seen[0].model, seen[0].epochs, seen[0].monitor, seen[0].last_steps) == ("gru", 2, "val_acc", 10)


def test_an_old_option_name_is_read_from_a_config_file(
    monkeypatch: pytest.MonkeyPatch, waves_npz: Path, tmp_path: Path
):
    """`streams` (`config.RENAMED`: now `modalities`) in a YAML config written for 0.4."""
    import actrec.runs.sequences

    seen: list[TrainConfig] = []
    monkeypatch.setattr(actrec.runs.sequences, "train_run", lambda dataset, out, config, **kwargs: seen.append(config))
    config = tmp_path / "config.yaml"
    config.write_text("model: stgcn\nstreams: [joint, bone]\n")
    result = runner.invoke(
        app, ["train", "--data", str(waves_npz), "--out", str(tmp_path / "run"), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert seen[0].modalities == ["joint", "bone"]
