"""Issue 19, item 5: a labels file's `subject` column (or `--group-column NAME`) gives the groups,
with a note; `label_desc` names the classes; `train --data 'seq_*.npy'` takes a pattern."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.data.loading import load_dataset
from actrec.errors import DataError
from actrec.recognizers import Recognizer

TINY = ["--model", "gru", "-o", "hidden_sizes=[4]", "-o", "dense=[]", "--epochs", "1", "--no-progress"]
DESCS = {0: "walk", 1: "run", 2: "sit"}


@pytest.fixture()
def sensors(tmp_path):
    """24 sequences of 3 classes by 8 subjects: features.csv id,time,ax,ay and labels.csv
    id,label,subject,label_desc (classes as numbers, their names in label_desc)."""
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for number in range(24):
        label, subject = number % 3, f"p{number // 3}"
        values = rng.normal(size=(10, 2)) + label
        rows.append(
            pd.DataFrame({"id": f"s{number}", "time": np.arange(10) / 10.0, "ax": values[:, 0], "ay": values[:, 1]})
        )
        labels.append({"id": f"s{number}", "label": label, "subject": subject, "label_desc": DESCS[label]})
    pd.concat(rows).to_csv(tmp_path / "features.csv", index=False)
    pd.DataFrame(labels).to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path


def test_a_subject_column_gives_the_groups_and_label_desc_the_class_names(sensors):
    data = load_dataset(sensors / "features.csv", labels=sensors / "labels.csv")
    assert data.label_names == ["walk", "run", "sit"]  # in the order of the label numbers
    assert data.labels_as_names()[:3].tolist() == ["walk", "run", "sit"]
    assert data.groups[:4].tolist() == ["p0", "p0", "p0", "p1"]
    assert any("column 'subject'" in note for note in data.notes)
    assert any("label_desc" in note for note in data.notes)


def test_group_column_names_any_column_and_an_unknown_one_is_one_line(sensors):
    table = pd.read_csv(sensors / "labels.csv").rename(columns={"subject": "participant"})
    table.to_csv(sensors / "labels.csv", index=False)
    assert load_dataset(sensors / "features.csv", labels=sensors / "labels.csv").groups is None
    data = load_dataset(sensors / "features.csv", labels=sensors / "labels.csv", group_column="participant")
    assert data.groups[3] == "p1"
    with pytest.raises(DataError, match="no column 'person' for --group-column"):
        load_dataset(sensors / "features.csv", labels=sensors / "labels.csv", group_column="person")


def test_a_label_with_two_descriptions_is_refused(sensors):
    table = pd.read_csv(sensors / "labels.csv")
    table.loc[3, "label_desc"] = "jog"
    table.to_csv(sensors / "labels.csv", index=False)
    with pytest.raises(DataError, match="label '0' goes with both 'walk' and 'jog'"):
        load_dataset(sensors / "features.csv", labels=sensors / "labels.csv")


def test_train_prints_where_groups_came_from_and_keeps_the_class_names(sensors):
    out = sensors / "run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(sensors / "features.csv"),
            "--labels",
            str(sensors / "labels.csv"),
            "--out",
            str(out),
            *TINY,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "column 'subject' (8 distinct)" in result.output and "has no groups" not in result.output
    assert Recognizer.load(out).label_names == ["walk", "run", "sit"]


def test_train_takes_a_pattern_of_npy_files_each_one_group(tmp_path):
    rng = np.random.default_rng(1)
    for number in range(6):
        y = np.arange(6) % 3
        X = rng.normal(size=(6, 5, 3)) + y[:, None, None]
        np.save(
            tmp_path / f"seq_{number}.npy", np.concatenate([X, np.broadcast_to(y[:, None, None], (6, 5, 1))], axis=2)
        )
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(tmp_path / "seq_*.npy"),
            "--label-last",
            "--label-names",
            "a,b,c",
            "--out",
            str(out),
            *TINY,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "each of 6 file(s) without groups" in result.output
    assert Recognizer.load(out).label_names == ["a", "b", "c"]
    config = json.loads((out / "config.json").read_text())
    assert config["n_train"] + config["n_val"] + config["n_test"] == 36
