"""Issue 19, items 3, 5 and 7: every command that reads data takes the same layout flags and
several `--data` (item 3); a labels file's columns are named by `--id-column`, `--label-column`,
`--group-column` (item 5); `predict --columns` picks the CSV's columns (item 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

from actrec.cli import app
from actrec.recognizers import Recognizer

NAMES = ["hello", "thanks", "yes"]
TINY = ["--model", "gru", "-o", "hidden_sizes=[4]", "-o", "dense=[]", "--epochs", "1", "--no-progress"]
LAYOUT_FLAGS = {
    "--data",
    "--labels",
    "--label-last",
    "--groups",
    "--label-names",
    "--group-column",
    "--label-column",
    "--id-column",
}


def invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def signs(tmp_path_factory):
    """A model trained on [N, 6, 4] windows of three named signs, and two MediaPipe-style .npy
    files [N, 6, 5] of other windows whose last column is the class number."""
    folder = tmp_path_factory.mktemp("signs")
    rng = np.random.default_rng(0)

    def windows(n):
        y = np.arange(n) % 3
        return rng.normal(size=(n, 6, 4)).astype(np.float32) + y[:, None, None], y

    X, y = windows(18)
    from actrec.data.dataset import SequenceDataset

    dataset = SequenceDataset(X=X, lengths=np.full(18, 6), y=y, label_names=NAMES)
    Recognizer(model="gru", model_options={"hidden_sizes": [4], "dense": []}, epochs=1, seed=0).fit(dataset).save(
        folder / "model.actrec"
    )
    for name, n in (("part_a", 9), ("part_b", 6)):
        X, y = windows(n)
        np.save(folder / f"{name}.npy", np.concatenate([X, y[:, None, None].repeat(6, 1).astype(np.float32)], axis=2))
    return folder


def test_every_command_that_reads_data_takes_every_layout_flag():
    """Item 3: one shared definition, so no command lacks one (on main `dataset build` had none
    and no command had --label-column or --id-column)."""
    root = typer.main.get_command(app)
    commands = {
        name: root.commands[name] for name in ("train", "eval", "predict", "export", "audit", "compare", "sweep")
    }
    commands["dataset build"] = root.commands["dataset"].commands["build"]
    for name, command in commands.items():
        flags = {option for param in command.params for option in param.opts}
        assert flags >= LAYOUT_FLAGS, f"{name} lacks {sorted(LAYOUT_FLAGS - flags)}"
        data = next(param for param in command.params if "--data" in param.opts)
        assert data.multiple, f"{name} takes one --data only"


def test_eval_reads_several_label_last_files_with_class_names(signs):
    """Item 3: `eval` on two `.npy` files (on main the second --data replaced the first)."""
    result = invoke(
        "eval", signs, "--data", signs / "part_a.npy", "--data", signs / "part_b.npy", "--label-last",
        "--label-names", ",".join(NAMES), "--out", signs / "metrics.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pd.read_json(signs / "metrics.json", typ="series")["n"] == 15


def test_export_checks_parity_on_a_pattern_of_label_last_files(signs, tmp_path):
    result = invoke("export", signs, "--data", signs / "part_*.npy", "--label-last", "--out", tmp_path / "m.onnx")
    assert result.exit_code == 0, result.output
    assert "on real windows" in result.output and "no data given" not in result.output


def test_dataset_build_writes_a_users_layout_as_one_dataset(signs, tmp_path):
    """Item 3: `dataset build --data` reads any layout train reads and writes it as one .npz,
    class names and one group per file inside."""
    out = tmp_path / "signs.npz"
    result = invoke(
        "dataset", "build", "--data", signs / "part_*.npy", "--label-last", "--label-names", ",".join(NAMES),
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "15 samples x 6 frames in 2 groups (hello 5, thanks 5, yes 5)" in " ".join(result.output.split())
    with np.load(out) as saved:
        assert saved["X"].shape == (15, 6, 4)
        assert saved["label_names"].tolist() == NAMES
        assert sorted(set(saved["groups"].tolist())) == ["part_a", "part_b"]
        parts = np.concatenate([np.load(signs / "part_a.npy"), np.load(signs / "part_b.npy")])
        assert np.array_equal(saved["y"], parts[:, 0, -1].astype(int))
        assert np.allclose(saved["X"], parts[:, :, :-1])


def test_dataset_build_refuses_layout_flags_on_recordings(tmp_path):
    result = invoke("dataset", "build", "--recordings", tmp_path, "--label-last", "--out", tmp_path / "d.npz")
    assert result.exit_code == 2 and "describe --data files" in result.output
    assert not (tmp_path / "d.npz").exists()


@pytest.fixture()
def sensors(tmp_path):
    """A long CSV whose labels file names its columns its own way: sequence,action,subject."""
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for number in range(24):
        label = ["walk", "run", "sit"][number % 3]
        values = rng.normal(size=(10, 2)) + number % 3
        rows.append(
            pd.DataFrame({"id": f"s{number}", "time": np.arange(10) / 10, "ax": values[:, 0], "ay": values[:, 1]})
        )
        labels.append({"sequence": f"s{number}", "action": label, "subject": f"p{number // 3}"})
    pd.concat(rows).to_csv(tmp_path / "features.csv", index=False)
    pd.DataFrame(labels).to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path


def test_train_reads_a_labels_file_by_its_own_column_names(sensors):
    """Item 5: --id-column and --label-column name the labels file's columns; its subject column
    gives the groups, said in one line."""
    out = sensors / "run"
    result = invoke(
        "train", "--data", sensors / "features.csv", "--labels", sensors / "labels.csv", "--id-column", "sequence",
        "--label-column", "action", "--out", out, *TINY,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "column 'subject' (8 distinct)" in result.output
    assert Recognizer.load(out).label_names == ["run", "sit", "walk"]


def test_a_missing_label_column_says_which_flag_names_it(sensors):
    result = invoke(
        "train", "--data", sensors / "features.csv", "--labels", sensors / "labels.csv", "--out", sensors / "run", *TINY
    )
    assert result.exit_code == 2
    line = " ".join(result.output.split())
    assert (
        "labels.csv: no 'id' column (found sequence, action, subject); name the file's column with --id-column" in line
    )
    assert not (sensors / "run").exists()


def test_predict_columns_picks_and_orders_the_csv_columns(signs, tmp_path):
    """Item 7: `--columns 'id,<classes>'` is the submission layout; any order or subset of the
    columns can be asked for, and an unknown name is one line before anything is predicted."""
    data = ["--data", signs / "part_a.npy", "--label-last"]
    full = tmp_path / "full.csv"
    assert invoke("predict", signs, *data, "--out", full).exit_code == 0
    full_table = pd.read_csv(full)

    picked = tmp_path / "picked.csv"
    result = invoke("predict", signs, *data, "--columns", "id,yes,hello,pred", "--out", picked)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(picked).equals(full_table[["id", "yes", "hello", "pred"]])

    classes = tmp_path / "classes.csv"
    assert invoke("predict", signs, *data, "--columns", "id,<classes>", "--out", classes).exit_code == 0
    assert pd.read_csv(classes).equals(full_table[["id", *NAMES]])

    result = invoke("predict", signs, *data, "--columns", "id,maybe", "--out", tmp_path / "bad.csv")
    assert result.exit_code == 2 and "--columns: no column 'maybe'; choose from id" in result.output
    assert not (tmp_path / "bad.csv").exists()


def test_predict_says_which_label_flags_it_does_not_need(signs, tmp_path):
    out = tmp_path / "preds.csv"
    result = invoke("predict", signs, "--data", signs / "part_a.npy", "--label-last", "--groups", "g.txt", "--out", out)
    assert result.exit_code == 0, result.output
    assert "--groups: not needed to read samples for prediction, so not used" in result.output
    assert len(pd.read_csv(out)) == 9
