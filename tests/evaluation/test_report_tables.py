"""Every table in a run's report.md is a Markdown table whose scores have 3 decimals: the scores
table at the top as well as the per-class one (it had 4, beside the per-class table's 3)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from actrec.evaluation.metrics import compute_metrics
from actrec.evaluation.report import write_run

NAMES = ["walk", "sit", "fall"]


def markdown_tables(report: str) -> list[list[list[str]]]:
    """The report's tables: runs of lines starting with `|`, each row split into its cells."""
    tables, rows = [], []
    for line in report.splitlines() + [""]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def test_every_report_table_has_a_separator_row_and_three_decimal_scores(tmp_path: Path) -> None:
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    proba = np.full((7, 3), 0.1) + np.eye(3)[[0, 1, 1, 1, 2, 0, 2]] * 0.7
    test = compute_metrics(y, proba, NAMES)
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})
    write_run(tmp_path, history, test, test, NAMES, {"model": "gru"})
    tables = markdown_tables((tmp_path / "report.md").read_text())
    assert len(tables) == 2  # scores per split, then per class
    for table in tables:
        assert all(re.fullmatch(r":?-+:?", cell) for cell in table[1]), table[1]
        assert all(len(row) == len(table[0]) for row in table)
        numbers = [cell for row in table[2:] for cell in row if re.fullmatch(r"-?\d+\.\d+", cell)]
        assert numbers and all(len(cell.split(".")[1]) == 3 for cell in numbers), numbers
    scores = dict(zip(tables[0][0], tables[0][3]))
    assert (
        scores["split"] == "test"
        and scores["top-1"] == f"{test['top1']:.3f}"
        and scores["log-loss"] == f"{test['log_loss']:.3f}"
    )


def test_curves_draw_only_the_metrics_the_history_has(tmp_path: Path) -> None:
    """A history with losses only gets one panel (no empty accuracy axes and legend)."""
    from matplotlib.image import imread

    y = np.array([0, 1, 2])
    test = compute_metrics(y, np.eye(3) * 0.8 + 0.1, NAMES)
    losses = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.7, 0.5], "val_loss": [1.1, 0.8, 0.6]})
    both = losses.assign(train_acc=[0.3, 0.6, 0.8], val_acc=[0.3, 0.5, 0.7])
    write_run(tmp_path / "losses", losses, test, test, NAMES, {"model": "gru"})
    write_run(tmp_path / "both", both, test, test, NAMES, {"model": "gru"})
    width_losses = imread(tmp_path / "losses" / "curves.png").shape[1]
    width_both = imread(tmp_path / "both" / "curves.png").shape[1]
    assert width_losses < 0.7 * width_both
    no_scores = pd.DataFrame({"epoch": [1, 2], "seconds": [0.1, 0.2]})
    write_run(tmp_path / "none", no_scores, test, test, NAMES, {"model": "gru"})
    assert (
        not (tmp_path / "none" / "curves.png").exists()
        and "No training curves" in (tmp_path / "none" / "report.md").read_text()
    )
