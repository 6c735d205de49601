"""A run's report.md reads as Markdown: the per-class table is a table with 3 decimals (with or
without the optional `tabulate`), and a fit without epochs (closed form) gets a sentence saying
so, not a curves figure of one dot at epoch 0."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from actrec.config import TrainConfig
from actrec.evaluation.metrics import compute_metrics
from actrec.evaluation.report import write_run
from actrec.runs.sequences import train_run
from tests.helpers.waves import make_waves

NAMES = ["walk", "sit", "fall"]


def metrics() -> dict:
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    proba = np.full((7, 3), 0.1) + np.eye(3)[[0, 1, 1, 1, 2, 0, 2]] * 0.7
    return compute_metrics(y, proba, NAMES)


def epochs_history(epochs: int) -> pd.DataFrame:
    falling = np.linspace(1.0, 0.5, epochs)
    return pd.DataFrame(
        {
            "epoch": np.arange(1, epochs + 1),
            "train_loss": falling,
            "val_loss": falling + 0.1,
            "train_acc": 1 - falling / 2,
            "val_acc": 0.9 - falling / 2,
        }
    )


def per_class_lines(report: str) -> list[str]:
    lines = report.split("## Per class (test)\n\n", 1)[1].splitlines()
    return lines[: next(i for i, line in enumerate(lines) if not line.startswith("|"))]


def test_the_per_class_table_is_markdown_with_three_decimals(tmp_path: Path) -> None:
    test = metrics()
    write_run(tmp_path, epochs_history(2), test, test, NAMES, {"model": "gru"})
    lines = per_class_lines((tmp_path / "report.md").read_text())
    assert lines[0] == "| class | precision | recall | f1 | support |"
    assert set(lines[1].replace("|", "")) <= {"-", ":"}
    assert len(lines) == 2 + len(NAMES)
    sit = lines[2 + NAMES.index("sit")].strip("| ").split(" | ")
    row = test["per_class"]["sit"]
    assert sit == ["sit", f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"])]


def test_epochs_draw_curves_and_a_closed_form_fit_says_why_it_has_none(tmp_path: Path) -> None:
    test = metrics()
    write_run(tmp_path / "epochs", epochs_history(3), test, test, NAMES, {"model": "gru"})
    assert (tmp_path / "epochs" / "curves.png").is_file() and "![curves](curves.png)" in (
        tmp_path / "epochs" / "report.md"
    ).read_text()
    one_step = pd.DataFrame([{"epoch": 0, "seconds": 1.25, "val_loss": 0.4321, "val_acc": 0.875}])
    write_run(
        tmp_path / "closed",
        one_step,
        test,
        test,
        NAMES,
        {"model": "minirocket", "notes": ["auto: minirocket fitted in 1.2 s"]},
    )
    report = (tmp_path / "closed" / "report.md").read_text()
    assert not (tmp_path / "closed" / "curves.png").exists() and "curves.png" not in report
    assert "No training curves" in report and "closed-form" in report
    assert "validation log-loss 0.432" in report and "validation top-1 0.875" in report
    assert "## How the model was fitted" in report and "- auto: minirocket fitted in 1.2 s" in report


def test_a_kernel_run_leaves_no_one_dot_curves(tmp_path: Path) -> None:
    # without groups the penalty is chosen by leave-one-out, which the fit reports as its choice alone
    data = replace(make_waves(n=60), groups=None)
    train_run(data, tmp_path / "run", TrainConfig(model="minirocket", model_options={"num_features": 84}, seed=0))
    report = (tmp_path / "run" / "report.md").read_text()
    assert not (tmp_path / "run" / "curves.png").exists()
    assert "No training curves" in report and "minirocket" in report
    assert per_class_lines(report)[0] == "| class | precision | recall | f1 | support |"
    # with groups, the out-of-fold error of every penalty tried is drawn
    train_run(
        make_waves(n=60),
        tmp_path / "grouped",
        TrainConfig(model="minirocket", model_options={"num_features": 84}, seed=0),
    )
    assert "penalty search" in (tmp_path / "grouped" / "report.md").read_text()


def test_each_fit_strategys_history_is_drawn_or_said(tmp_path: Path) -> None:
    """Epochs of several members (skeleton modalities), a penalty search, an ensemble's members: a
    figure each; a closed-form fit that reports only its chosen penalty: a sentence naming it."""
    test = metrics()
    streams = pd.concat([epochs_history(3).assign(member="joint"), epochs_history(3).assign(member="bone")])
    search = pd.DataFrame(
        {"penalty": [0.1, 1.0, 10.0], "search_error": [0.9, 0.5, 0.7], "chosen": [False, True, False]}
    )
    members = pd.DataFrame(
        [
            {"member": "minirocket", "weight": 0.6, "val_loss": 0.3, "val_acc": 0.9},
            {"member": "gru", "weight": 0.4, "val_loss": 0.45, "val_acc": 0.8},
        ]
    )
    for name, history, caption in (
        ("streams", streams, "curves"),
        ("search", search, "penalty search"),
        ("members", members, "ensemble members"),
    ):
        write_run(tmp_path / name, history, test, test, NAMES, {"model": "x"})
        assert (tmp_path / name / "curves.png").is_file(), name
        assert f"![{caption}](curves.png)" in (tmp_path / name / "report.md").read_text(), name
    write_run(tmp_path / "one", members[:1], test, test, NAMES, {"model": "auto"})
    report = (tmp_path / "one" / "report.md").read_text()
    assert not (tmp_path / "one" / "curves.png").exists()
    assert "minirocket (weight 0.60, validation log-loss 0.300, validation top-1 0.900)" in report
    chosen = pd.DataFrame([{"penalty": 10.0, "search_error": np.nan, "chosen": True, "val_loss": 0.25, "seconds": 2.0}])
    write_run(tmp_path / "chosen", chosen, test, test, NAMES, {"model": "minirocket"})
    report = (tmp_path / "chosen" / "report.md").read_text()
    assert not (tmp_path / "chosen" / "curves.png").exists()
    assert "closed-form" in report and "ridge penalty 10" in report and "validation log-loss 0.250" in report
