"""Comparison commands: compare, sweep, audit, report."""

from __future__ import annotations

from typing import Any

import typer

from actrec.cli import app, console, results_console, run_cli
from actrec.cli.layout import DataLayout, with_data_layout


def parse_seeds(text: str) -> list[int]:
    """`3` -> seeds 0, 1, 2; `0,0,7` -> exactly those (a repeated seed checks determinism)."""
    from actrec.errors import ConfigError

    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds '{text}': give a count (3) or a comma list (0,1,2)") from None
    seeds = list(range(values[0])) if len(values) == 1 and "," not in text else values
    if not seeds:
        raise ConfigError(f"--seeds '{text}': give at least one seed, e.g. 3 or 0,1,2")
    return seeds


@app.command()
@with_data_layout
def compare(
    data: list[str] = typer.Option(
        ...,
        "--data",
        help="Data file(s): .npz, .npy (--label-last), long .csv (--labels) or .ts; repeat --data or quote a pattern for many",
    ),
    out: str = typer.Option(..., "--out", help="folder for the tables, plot and run cache"),
    config: str = typer.Option(None, help="YAML list of configurations (Recognizer arguments + name)"),
    model: list[str] = typer.Option([], "--model", help="NAME or NAME:{json model options}, repeatable"),
    seeds: str = typer.Option("3", help="training seeds on one holdout split: a count (3) or a list (0,0,1)"),
    folds: int = typer.Option(None, help="k-fold CV instead of seeds (group-aware when groups exist)"),
    epochs: int = typer.Option(None, help="epochs for configurations that do not set them"),
    split_seed: int = typer.Option(0, help="fixes the holdout split or the folds"),
    cache: bool = typer.Option(True, help="reuse runs from OUT/cache"),
    layout: DataLayout = DataLayout(),
) -> None:
    """Evaluate several model configurations on the same data: mean ± std table, latency, plot.

    On clips (a folder of class folders of videos), clip options go in the model's JSON:
    --model 'tsm:{"depth": 18, "size": 64}'."""
    from actrec.errors import ConfigError
    from actrec.experiments.compare import compare as run_compare
    from actrec.experiments.compare import load_specs, spec_from_option
    from actrec.io.clips import is_clip_spec

    def action() -> None:
        defaults = {"epochs": epochs} if epochs else {}
        specs = (load_specs(config, defaults) if config else []) + [spec_from_option(text, defaults) for text in model]
        report = lambda name, run, cached: console.print(f"{name} {run}: {'cached' if cached else 'trained'}")
        if len(data) == 1 and is_clip_spec(data[0]):
            from actrec.cli.clips import report_bad_video
            from actrec.data.clips import load_clips
            from actrec.experiments.clip_compare import compare_clips

            if folds:
                raise ConfigError("--folds is not available for clips yet; compare them over --seeds")
            result = compare_clips(
                load_clips(data[0]),
                specs,
                out,
                seeds=parse_seeds(seeds),
                split_seed=split_seed,
                use_cache=cache,
                on_run=report,
                on_bad_video=report_bad_video,
            )
            source = data[0]
        else:
            dataset = layout.load(data)
            print_notes(dataset)
            result = run_compare(
                dataset,
                specs,
                out,
                seeds=parse_seeds(seeds),
                folds=folds,
                split_seed=split_seed,
                use_cache=cache,
                on_run=report,
            )
            source = dataset.source
            for note in result.notes:
                console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        print_frame(result.display(), f"{source}: {len(specs)} configuration(s), {result.fits} run(s) trained -> {out}")

    run_cli(action)


def print_notes(dataset: Any) -> None:
    """What loading decided from the files' layout (groups from a `subject` column, ...)."""
    for note in dataset.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)


def print_frame(frame: Any, title: str) -> None:
    from rich.table import Table

    table = Table()
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*[str(value) for value in row])
    out = results_console()
    out.print(title, highlight=False, markup=False)
    out.print(table)


@app.command()
@with_data_layout
def sweep(
    data: list[str] = typer.Option(
        ...,
        "--data",
        help="Data file(s): .npz, .npy (--label-last), long .csv (--labels) or .ts; repeat --data or quote a pattern for many",
    ),
    space: str = typer.Option(..., "--space", help="space.yaml: base arguments, params to search, enqueue"),
    trials: int = typer.Option(..., "--trials", help="trials this worker runs"),
    out: str = typer.Option(..., "--out", help="folder for the front, plot and best_config.yaml"),
    storage: str = typer.Option(None, help="Optuna storage URL; default sqlite in OUT; postgresql://... to share"),
    study: str = typer.Option("actrec-sweep", help="study name (workers sharing a storage use the same)"),
    objective: str = typer.Option("accuracy+latency", help="accuracy+latency (Pareto) or accuracy (prunes over folds)"),
    folds: int = typer.Option(None, help="score each trial by k-fold CV instead of one holdout split"),
    seed: int = typer.Option(None, help="sampler seed (leave unset when several workers share a study)"),
    tolerance: float = typer.Option(0.01, help="choose the fastest front trial within this top-1 of the best"),
    layout: DataLayout = DataLayout(),
) -> None:
    """Search hyperparameters with Optuna; show the Pareto front; write best_config.yaml."""
    from actrec.experiments.sweep import load_space
    from actrec.experiments.sweep import sweep as run_sweep

    def action() -> None:
        search_space = load_space(space)
        dataset = layout.load(data)
        print_notes(dataset)
        report = lambda row: console.print(
            f"trial {row['number']}: top-1 {row['top1']:.4f}, {row['latency_us']:.0f} µs, {row['params']}"
        )
        result = run_sweep(
            dataset,
            search_space,
            out,
            trials,
            storage=storage,
            study_name=study,
            objective=objective,
            folds=folds,
            seed=seed,
            tolerance=tolerance,
            on_trial=report,
        )
        shown = result.front[["trial", "top1", "latency_us", "param_count", "params"]].round(
            {"top1": 4, "latency_us": 1}
        )
        print_frame(shown, f"Pareto front of study '{study}' ({len(result.study.trials)} trials)")
        console.print(f"chosen: trial {int(result.best['trial'])} -> {out}/best_config.yaml (actrec train --config)")

    run_cli(action)


@app.command()
@with_data_layout
def audit(
    data: list[str] = typer.Option(
        ...,
        "--data",
        help="Data file(s): .npz, .npy (--label-last), long .csv (--labels) or .ts; repeat --data or quote a pattern for many",
    ),
    out: str = typer.Option(..., "--out", help="folder for audit.json and audit.md"),
    test: str = typer.Option(None, help="test data, for duplicates and group leakage across the split"),
    noise_model: str = typer.Option(
        "ensemble",
        help="out-of-fold model for label noise: ensemble (minirocket x features) | minirocket | features | recognizer",
    ),
    folds: int = typer.Option(5, help="folds for the out-of-fold probabilities"),
    seed: int = typer.Option(0),
    test_labels: str = typer.Option(None, help="labels.csv for a long-CSV --test"),
    layout: DataLayout = DataLayout(),
) -> None:
    """Check a dataset: balance, lengths, bad channels, duplicates, leakage, label-noise candidates."""
    from actrec.experiments.audit.report import write_audit
    from actrec.experiments.audit.run import audit_dataset

    def action() -> None:
        dataset = layout.load(data)
        print_notes(dataset)
        test_set = layout.load_test(test, test_labels, dataset.label_names) if test else None
        result = audit_dataset(dataset, test_set, noise_model=noise_model, folds=folds, seed=seed)
        _, md_path = write_audit(result, out)
        for text in result["findings"] or ["nothing found"]:
            console.print(f"- {text}", highlight=False)
        console.print(f"wrote {md_path} and audit.json")

    run_cli(action)


@app.command()
def report(
    folder: str = typer.Argument(..., help="RUN, compare, sweep or audit folder"),
    out: str = typer.Option(None, help="HTML file to write; default FOLDER/report.html"),
    audit_dir: str = typer.Option(None, "--audit", help="folder holding audit.json to include"),
) -> None:
    """Write one self-contained HTML report (images embedded) for a run, comparison or sweep."""
    from actrec.evaluation.html import write_html_report

    def action() -> None:
        path = write_html_report(folder, out, audit_dir)
        console.print(f"wrote {path}")

    run_cli(action)
