"""What a training run leaves in RUN/: metrics.json, history.csv, plots, per-class table, report.md.

Every file is written to a temporary name and renamed, so a failed run never leaves a half file
over the results of a good one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actrec.evaluation.metrics import headline
from actrec.evaluation.tables import markdown_table
from actrec.io.atomic import atomic_path, write_text_atomic


def new_figure(rows: int = 1, columns: int = 1, figsize: tuple[float, float] = (7, 4.5)) -> tuple[Figure, Any]:
    """A figure and its axes without pyplot: no global backend switch and no figure registry,
    so importing actrec never changes how the user's own matplotlib code displays."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, columns)


def save_figure(figure: Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def history_kind(history: pd.DataFrame) -> str | None:
    """Which figure a fit's history draws (`actrec.training.strategies`: each strategy records the
    history it has): "members" (an ensemble of two or more members, their validation log-loss),
    "epochs" (two or more epochs with a loss or accuracy), "penalties" (a closed-form fit's
    penalty search, two or more penalties scored; a one-member ensemble's history is its
    member's); None when there is nothing to draw: a closed-form fit that reports only its chosen
    penalty, a single epoch."""
    members = member_rows(history)
    if "weight" in history and "val_loss" in members and members["val_loss"].notna().sum() >= 2:
        return "members"
    columns = {f"{stage}_{metric}" for stage in ("train", "val") for metric in ("loss", "acc")}
    if "epoch" in history and history["epoch"].nunique() >= 2 and columns & set(history.columns):
        return "epochs"
    if "search_error" in history and history["search_error"].notna().sum() >= 2:
        return "penalties"
    return None


def member_rows(history: pd.DataFrame) -> pd.DataFrame:
    """One row per fitted model: the row `chosen` marks (the penalty a closed-form fit kept), else
    the last; per member when the history holds several (an ensemble's members' histories, a
    `member` column)."""
    parts = list(history.groupby("member", sort=False)) if "member" in history else [("", history)]
    picked = []
    for _, rows in parts:
        chosen = rows["chosen"].eq(True) if "chosen" in rows else None
        picked.append(rows[chosen] if chosen is not None and chosen.any() else rows.tail(1))
    return pd.concat(picked) if picked else history


def no_curves_text(history: pd.DataFrame, model: str) -> str:
    """What report.md says instead of a figure: why there is none, and the fit's validation scores,
    chosen penalty and time when the history has them."""
    if "weight" in history and "member" in history:
        members = member_rows(history)
        return (
            f"No training curves: `{model}` is an ensemble fitted without epochs; its members: "
            + "; ".join(
                f"{row.member} (weight {row.weight:.2f}"
                + "".join(
                    f", {label} {getattr(row, column):.3f}"
                    for column, label in (("val_loss", "validation log-loss"), ("val_acc", "validation top-1"))
                    if column in members and pd.notna(getattr(row, column))
                )
                + ")"
                for row in members.itertuples()
            )
            + "."
        )
    closed_form = (
        "penalty" in history
        or "weight" in history
        or (len(history) > 0 and "epoch" in history and int(history["epoch"].max()) == 0)
    )
    why = (
        (
            f"`{model}` was fitted without epochs (its kernel model in one closed-form step: random convolution "
            "features and a ridge penalty chosen on held-out data)"
        )
        if closed_form
        else "the fit ran fewer than two epochs"
    )
    chosen = member_rows(history)
    row = chosen.iloc[-1] if len(chosen) else pd.Series(dtype=float)
    facts = [
        f"{label} {row[column]:{fmt}}"
        for column, label, fmt in (
            ("penalty", "ridge penalty", ".3g"),
            ("val_loss", "validation log-loss", ".3f"),
            ("val_acc", "validation top-1", ".3f"),
            ("seconds", "fit seconds", ".1f"),
        )
        if column in row and pd.notna(row[column])
    ]
    return f"No training curves: {why}, so there is nothing to draw over epochs" + (
        f" ({', '.join(facts)})." if facts else "."
    )


def plot_history(history: pd.DataFrame, path: Path) -> str | None:
    """Draw what the fit's history holds (`history_kind`) into `path`; the figure's caption, or
    None (nothing drawn) when there is nothing to draw."""
    kind = history_kind(history)
    if kind == "epochs":
        plot_curves(history, path)
        return "curves"
    if kind == "penalties":
        plot_penalties(history, path)
        return "penalty search"
    if kind == "members":
        plot_members(history, path)
        return "ensemble members"
    return None


def plot_curves(history: pd.DataFrame, path: Path) -> None:
    """Loss and accuracy per epoch, train and validation: a panel for each the history has (a fit
    that logged no accuracy gets no empty accuracy axes); a line per member when several networks
    were trained (skeleton modalities: a `member` column)."""
    metrics = [
        metric for metric in ("loss", "acc") if any(f"{stage}_{metric}" in history for stage in ("train", "val"))
    ]
    members = list(history.groupby("member", sort=False)) if "member" in history else [("", history)]
    figure, axes = new_figure(1, len(metrics), figsize=(5 * len(metrics), 3.6))
    for axis, metric in zip(np.atleast_1d(axes), metrics):
        for member, rows in members:
            for stage in ("train", "val"):
                column = f"{stage}_{metric}"
                if column in rows:
                    label = f"{member} {stage}".strip()
                    axis.plot(rows["epoch"], rows[column], marker=".", label=label)
        axis.set_xlabel("epoch")
        axis.set_ylabel("accuracy" if metric == "acc" else "loss")
        axis.grid(alpha=0.3)
        axis.legend()
    save_figure(figure, path)


def plot_penalties(history: pd.DataFrame, path: Path) -> None:
    """A closed-form fit's penalty search: the error the penalty was chosen by (leave-one-out
    squared error, or out-of-fold error over folds of whole groups on grouped windows) for each ridge penalty tried (log
    scale), the chosen one marked; a line per member when an ensemble's members searched."""
    rows = history[history["search_error"].notna()]
    members = list(rows.groupby("member", sort=False)) if "member" in rows else [("", rows)]
    figure, axis = new_figure(figsize=(5, 3.6))
    for member, searched in members:
        axis.plot(searched["penalty"], searched["search_error"], marker=".", label=str(member) or None)
    chosen = rows[rows["chosen"].eq(True)] if "chosen" in rows else rows[:0]
    axis.scatter(chosen["penalty"], chosen["search_error"], color="red", zorder=3, label="chosen")
    axis.set_xscale("log")
    axis.set_xlabel("ridge penalty")
    axis.set_ylabel("search error")
    axis.grid(alpha=0.3)
    axis.legend()
    save_figure(figure, path)


def plot_members(history: pd.DataFrame, path: Path) -> None:
    """An ensemble's members: each one's validation log-loss, its weight written on its bar."""
    history = member_rows(history)
    figure, axis = new_figure(figsize=(max(4.0, 1.2 * len(history) + 2), 3.6))
    positions = np.arange(len(history))
    axis.bar(positions, history["val_loss"], color="tab:blue")
    for position, loss, weight in zip(positions, history["val_loss"], history["weight"]):
        axis.text(position, loss, f"weight {weight:.2f}", ha="center", va="bottom", fontsize=8)
    axis.set_xticks(positions, [str(member) for member in history["member"]])
    axis.set_ylabel("validation log-loss")
    axis.grid(alpha=0.3, axis="y")
    save_figure(figure, path)


def plot_confusion(confusion: list[list[int]], label_names: list[str], path: Path, title: str = "test") -> None:
    """Row-normalised confusion matrix with counts written in the cells (when few classes)."""
    counts = np.asarray(confusion, dtype=np.float64)
    rates = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    size = max(4.0, 0.35 * len(label_names) + 2)
    figure, axis = new_figure(figsize=(size, size))
    axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(label_names))
    axis.set_xticks(ticks, label_names, rotation=90 if len(label_names) > 6 else 0)
    axis.set_yticks(ticks, label_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(f"confusion ({title})")
    if len(label_names) <= 20:
        for i in ticks:
            for j in ticks:
                axis.text(
                    j,
                    i,
                    int(counts[i, j]),
                    ha="center",
                    va="center",
                    color="white" if rates[i, j] > 0.5 else "black",
                    fontsize=8,
                )
    save_figure(figure, path)


def per_class_table(metrics: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(metrics["per_class"], orient="index").rename_axis("class").reset_index()


def per_class_markdown(table: pd.DataFrame) -> str:
    """The per-class table as a Markdown table, scores with 3 decimals and support as a count.

    `tables.markdown_table` writes it, not `DataFrame.to_markdown`, which needs the optional
    `tabulate` package (without it the report fell back to a text dump that Markdown renders as
    one paragraph)."""
    shown = table.copy()
    for column in shown.columns:
        if column != "class" and pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda value: f"{value:.3f}")
    return markdown_table(shown)


def worst_confusions(confusion: list[list[int]], label_names: list[str], top: int = 5) -> list[tuple[str, str, int]]:
    """The most frequent (true, predicted) mistakes."""
    counts = np.asarray(confusion)
    pairs = [
        (label_names[i], label_names[j], int(counts[i, j]))
        for i in range(len(counts))
        for j in range(len(counts))
        if i != j and counts[i, j] > 0
    ]
    return sorted(pairs, key=lambda pair: -pair[2])[:top]


def write_run(
    run_dir: str | Path,
    history: pd.DataFrame,
    val: dict[str, Any],
    test: dict[str, Any],
    label_names: list[str],
    config: dict[str, Any],
    cut_by_time_budget: bool = False,
    segments: dict[str, Any] | None = None,
) -> None:
    """Write every report file of a finished training run. `cut_by_time_budget`: the time budget
    ended training, so the run depends on the machine's load (metrics.json says so). `segments`:
    the segment F1 of the streaming decision rules fitted at training time
    (`stream.calibrate.rules_from_windows`)."""
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    metrics = {"val": headline(val), "test": headline(test), "cut_by_time_budget": cut_by_time_budget}
    metrics |= {"segments": segments} if segments else {}
    write_text_atomic(run / "metrics.json", json.dumps(metrics, indent=2))
    write_text_atomic(run / "config.json", json.dumps(config, indent=2))
    write_text_atomic(run / "history.csv", history.to_csv(index=False))
    table = per_class_table(test)
    write_text_atomic(run / "per_class.csv", table.to_csv(index=False))
    write_text_atomic(
        run / "confusion.csv", pd.DataFrame(test["confusion"], index=label_names, columns=label_names).to_csv()
    )
    drawn = plot_history(history, run / "curves.png")
    plot_confusion(test["confusion"], label_names, run / "confusion.png")
    curves_text = f"![{drawn}](curves.png)" if drawn else no_curves_text(history, str(config.get("model", "?")))
    write_text_atomic(run / "report.md", markdown_report(val, test, label_names, config, table, curves_text, segments))


def markdown_report(
    val: dict[str, Any],
    test: dict[str, Any],
    label_names: list[str],
    config: dict[str, Any],
    table: pd.DataFrame,
    curves_text: str = "![curves](curves.png)",
    segments: dict[str, Any] | None = None,
) -> str:
    """The run's report.md. top-5 is shown only with more than 5 classes: with fewer it is 1 by
    definition. `curves_text`: the curves figure, or why the fit has none (`no_curves_text`).
    `segments`: the segment F1 of the decision rules fitted at training time."""
    keys = [("top1", "top-1"), ("top5", "top-5"), ("macro_f1", "macro-F1"), ("log_loss", "log-loss")]
    if len(label_names) <= 5:
        keys = [key for key in keys if key[0] != "top5"]
    lines = [
        f"# actrec run: {config.get('model', '?')}",
        "",
        "| split | n | " + " | ".join(header for _, header in keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for name, metrics in (("val", val), ("test", test)):
        lines.append(f"| {name} | {metrics['n']} | " + " | ".join(f"{metrics[key]:.3f}" for key, _ in keys) + " |")
    if segments:
        lines += [
            "",
            f"Streamed segments (F1 at IoU >= {segments['min_iou']:g}; decision rules fitted on the validation recordings):",
            "",
        ]
        lines += [
            f"- {name}: {scores['segment_f1']:.3f} (default rules {scores['segment_f1_default_rules']:.3f}), "
            f"{scores['sessions']} sessions, {scores['frames']} frames"
            for name in ("val", "test")
            if (scores := segments.get(name))
        ]
    lines += ["", "## Per class (test)", "", per_class_markdown(table)]
    mistakes = worst_confusions(test["confusion"], label_names)
    if mistakes:
        lines += ["## Worst confusions (test)", ""] + [f"- {t} -> {p}: {n}" for t, p, n in mistakes] + [""]
    if config.get("notes"):
        lines += ["## How the model was fitted", ""] + [f"- {note}" for note in config["notes"]] + [""]
    lines += [
        curves_text,
        "",
        "![confusion](confusion.png)",
        "",
        "## Config",
        "",
        "```json",
        json.dumps(config, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)
