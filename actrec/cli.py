"""The `actrec` command: thin typer commands over the Python API.

Each command parses options, calls the API and prints; an `ActrecError` becomes one red line and
exit code 2 instead of a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import typer
from rich.console import Console

from actrec.errors import ActrecError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Action recognition from sequences.")
console = Console(stderr=True)


def run_cli(action: Callable[[], Any]) -> Any:
    """Run `action`, turning actrec's own errors into one line on stderr and exit code 2."""
    try:
        return action()
    except ActrecError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


# --- core commands (issue 2): train, eval, predict, info, demo --------------------------------

DataOption = typer.Option(..., "--data", help="Data file: .npz, .npy (--label-last), long .csv (--labels) or .ts")


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs, values read as YAML (`hidden_sizes=[64,32]`, `bidirectional=true`)."""
    import yaml

    from actrec.errors import ConfigError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option '{pair}' is not key=value, e.g. --option hidden_sizes=[64,32]")
        options[key.strip()] = yaml.safe_load(value)
    return options


def split_list(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


@app.command()
def train(
    data: str = DataOption,
    out: str = typer.Option(..., "--out", help="RUN folder for the model, metrics and plots"),
    labels: str = typer.Option(None, help="labels.csv (id,label[,group]) for a long CSV"),
    label_last: bool = typer.Option(False, "--label-last", help="the .npy's last feature column is the label"),
    test: str = typer.Option(None, help="separate test data; default: hold out a group-aware 20%"),
    test_labels: str = typer.Option(None, help="labels.csv for a long-CSV --test"),
    config: str = typer.Option(None, help="YAML of training options (e.g. best_config.yaml from sweep)"),
    model: str = typer.Option(None, help="inception (default), gru, lstm, stgcn"),
    option: list[str] = typer.Option([], "--option", "-o", help="model option key=value, repeatable"),
    epochs: int = typer.Option(None),
    batch_size: int = typer.Option(None),
    lr: float = typer.Option(None),
    optimizer: str = typer.Option(None, help="adam | adamw | rmsprop"),
    scheduler: str = typer.Option(None, help="none | step | plateau | cosine | onecycle"),
    patience: int = typer.Option(None, help="early-stopping patience in epochs"),
    sampler: str = typer.Option(None, help="shuffle | balanced"),
    joints: str = typer.Option(None, help="skeleton groups or joints to keep, comma separated"),
    augment: str = typer.Option(None, help="training augmentations, comma separated (mirror,rotate,...)"),
    seed: int = typer.Option(None, help="fixes splits, initialisation and order"),
    devices: int = typer.Option(None, help="processes/GPUs on this node (DDP when > 1)"),
    num_nodes: int = typer.Option(None, help="machines (DDP)"),
    resume: str = typer.Option(None, help="Lightning checkpoint to resume from"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Train a recognizer, evaluate it on validation and test data, and save everything in OUT."""
    from dataclasses import asdict

    from actrec.io import load_dataset
    from actrec.recognizer import TrainConfig
    from actrec.run import load_config_file, train_run

    def action() -> None:
        values = load_config_file(config) if config else {}
        flags = {
            "model": model, "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer,
            "scheduler": scheduler, "patience": patience, "sampler": sampler, "seed": seed,
            "devices": devices, "num_nodes": num_nodes,
        }
        values |= {k: v for k, v in flags.items() if v is not None}
        if option:
            values["model_options"] = dict(values.get("model_options") or {}) | parse_options(option)
        if joints:
            values["joints"] = split_list(joints)
        if augment:
            values["augment"] = split_list(augment)
        train_config = TrainConfig(**values)
        train_config.check()
        dataset = load_dataset(data, labels=labels, label_last=label_last)
        test_set = load_dataset(test, labels=test_labels, label_last=label_last, label_names=dataset.label_names) if test else None
        result = train_run(dataset, out, train_config, test=test_set, progress=progress, resume_from=resume)
        if result is not None:
            print_metrics(result, f"{train_config.model} -> {out}")

    run_cli(action)


def print_metrics(result: dict[str, dict[str, Any]], title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in ("split", "n", "top-1", "top-5", "macro-F1", "log-loss"):
        table.add_column(column)
    for split, metrics in result.items():
        table.add_row(split, str(metrics["n"]), f"{metrics['top1']:.4f}", f"{metrics['top5']:.4f}", f"{metrics['macro_f1']:.4f}", f"{metrics['log_loss']:.4f}")
    Console().print(table)


@app.command("eval")
def evaluate(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    data: str = DataOption,
    labels: str = typer.Option(None, help="labels.csv for a long CSV"),
    label_last: bool = typer.Option(False, "--label-last"),
    out: str = typer.Option(None, help="write the metrics as JSON here"),
) -> None:
    """Evaluate a saved model on labelled data: top-1, top-5, macro-F1, log-loss."""
    import json

    from actrec.evaluation.metrics import compute_metrics, headline
    from actrec.io import load_dataset
    from actrec.io.atomic import write_text_atomic
    from actrec.recognizer import Recognizer

    def action() -> None:
        recognizer = Recognizer.load(run)
        dataset = load_dataset(data, labels=labels, label_last=label_last, label_names=recognizer.label_names)
        metrics = compute_metrics(dataset.y, recognizer.predict_proba(dataset), recognizer.label_names)
        if out:
            write_text_atomic(out, json.dumps(metrics, indent=2))
        print_metrics({"eval": headline(metrics)}, f"{run} on {data}")

    run_cli(action)


@app.command()
def predict(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    data: str = DataOption,
    out: str = typer.Option(..., "--out", help="CSV: id, pred, confidence, one probability column per class"),
    label_last: bool = typer.Option(False, "--label-last"),
) -> None:
    """Predict every sample of a file; writes the submission layout competitions ask for."""
    from actrec.io import load_dataset
    from actrec.io.predictions import write_predictions
    from actrec.recognizer import Recognizer

    def action() -> None:
        recognizer = Recognizer.load(run)
        dataset = load_dataset(data, label_last=label_last, label_names=recognizer.label_names)
        write_predictions(out, dataset.ids, recognizer.predict_proba(dataset), recognizer.label_names)
        console.print(f"wrote {dataset.n_samples} predictions to {out}")

    run_cli(action)


@app.command()
def info(run: str = typer.Argument(..., help="RUN folder or model.actrec")) -> None:
    """Show what a saved model expects and how it was trained."""
    import json
    from pathlib import Path

    from actrec.recognizer import Recognizer

    def action() -> None:
        recognizer = Recognizer.load(run)
        meta = recognizer.metadata()
        meta["parameters"] = sum(p.numel() for p in recognizer.network.parameters())
        meta["pipeline"] = [step["name"] for step in meta["pipeline"]]
        metrics = Path(run) / "metrics.json"
        if metrics.is_file():
            meta["metrics"] = json.loads(metrics.read_text())
        Console().print_json(json.dumps(meta))

    run_cli(action)

@app.command()
def demo(
    out: str = typer.Option("runs/demo", help="folder for the generated data and the run"),
    recordings: int = typer.Option(24, help="synthetic recordings to generate"),
    epochs: int = typer.Option(10),
    seed: int = typer.Option(0),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """The main job on the embedded dataset: synthetic skeleton recordings -> windows -> train -> report."""
    import time

    from actrec.demo import run_demo

    def action() -> None:
        start = time.perf_counter()
        result = run_demo(out, recordings=recordings, epochs=epochs, seed=seed, progress=progress)
        if result is not None:
            print_metrics(result, f"default model on synthetic skeletons -> {out}/run")
            console.print(f"done in {time.perf_counter() - start:.0f} s; report: {out}/run/report.md, model: {out}/run/model.actrec")

    run_cli(action)


# --- keypoint commands (issue 3): dataset build/generate, extract -------------------------------
# `dataset` is owned by the keypoint-datasets work; `extract` below by the video-extraction work.
dataset_app = typer.Typer(no_args_is_help=True, help="Keypoint datasets: generate a synthetic one, build windows or clips.")
app.add_typer(dataset_app, name="dataset")


@dataset_app.command("generate")
def dataset_generate(
    out: str = typer.Option(..., "--out", help="Folder for recordings/*.npz and segments.csv."),
    recordings: int = typer.Option(40, help="Number of simulated recordings (about 60 s each)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same data."),
) -> None:
    """Simulate coco17 people standing, walking, sitting, falling and waving, with segment labels."""
    from actrec.data.synthetic import write_synthetic

    folder = run_cli(lambda: write_synthetic(out, recordings, seed))
    console.print(f"wrote {recordings} recordings to {folder / 'recordings'} and labels to {folder / 'segments.csv'}")


@dataset_app.command("build")
def dataset_build(
    recordings: str = typer.Option(..., "--recordings", help="Folder of recording .npz files (per class sub-folders with --clips)."),
    out: str = typer.Option(..., "--out", help="Dataset .npz to write (what actrec train --data reads)."),
    segments: str = typer.Option(None, help="CSV video,start,end,label for sliding windows."),
    unit: str = typer.Option("seconds", help="Unit of start/end in the segments CSV: seconds or frames."),
    window: int = typer.Option(30, help="Window length in frames."),
    stride: int = typer.Option(10, help="Frames between window starts."),
    min_fraction: float = typer.Option(0.5, help="Share of a window its label must cover."),
    background: str = typer.Option(None, help="Label for windows no segment covers enough (default: drop them)."),
    clips: bool = typer.Option(False, "--clips", help="One sample per file, labelled by its folder."),
) -> None:
    """Turn keypoint recordings plus annotations into a labelled dataset .npz."""
    import numpy as np

    from actrec.data.segments import clips_from_folders, windows_from_segments
    from actrec.errors import ConfigError

    def action() -> Any:
        if clips == (segments is not None):
            raise ConfigError("give either --segments CSV (sliding windows) or --clips (one label per file)")
        dataset = clips_from_folders(recordings) if clips else windows_from_segments(
            recordings, segments, window, stride, unit, min_fraction, background
        )
        dataset.to_npz(out)
        return dataset

    dataset = run_cli(action)
    counts = ", ".join(f"{name} {count}" for name, count in zip(dataset.label_names, np.bincount(dataset.y, minlength=dataset.n_classes)))
    console.print(f"{out}: {dataset.n_samples} samples x {dataset.n_steps} frames from {len(set(dataset.groups))} recordings ({counts})")



@app.command()
def extract(
    video: str = typer.Argument(..., help="A video file or a folder of videos (searched recursively)."),
    out: str = typer.Option(..., "--out", help="Folder for one keypoint .npz per video (folder layout kept)."),
    detector: str = typer.Option("pose", help="MediaPipe detector: pose (33 joints), hands (21), holistic (75)."),
    workers: int = typer.Option(1, help="Videos processed at once, each in its own process."),
    crop: str = typer.Option(None, help="X,Y,WIDTH,HEIGHT pixel region to detect in (people small in a wide shot)."),
    max_frames: int = typer.Option(None, help="Stop each video after this many frames."),
) -> None:
    """Extract MediaPipe keypoints from videos; finished videos are skipped when run again."""
    from actrec.extract.batch import extract_videos
    from actrec.extract.core import Crop

    outcomes = run_cli(lambda: extract_videos(video, out, detector, workers, Crop.parse(crop) if crop else None, max_frames, console))
    failed = sum(outcome.status == "failed" for outcome in outcomes)
    console.print(f"{len(outcomes) - failed} of {len(outcomes)} videos extracted or already done; {failed} failed")
    if failed:
        raise typer.Exit(2)

# --- streaming commands (issue 4): stream, export ----------------------------------------------


@app.command()
def stream(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    source: str = typer.Option(..., "--source", help="video FILE, webcam:N, or csv:FILE (time + feature columns)"),
    out: str = typer.Option(None, "--out", help="annotated video (skeleton, label, confidence, timeline)"),
    events: str = typer.Option(None, "--events", help="events JSONL: one start/end object per line"),
    fast: bool = typer.Option(False, "--fast", help="replay files as fast as possible (no dropped frames)"),
    runtime: str = typer.Option("auto", "--runtime", help="auto | numpy | torch | onnx"),
) -> None:
    """Recognize actions frame by frame and emit start/end events."""
    from actrec.recognizer import Recognizer
    from actrec.stream.live import stream_source

    def action() -> None:
        shown: list[Any] = []

        def show(decision: Any) -> None:
            for event in decision.events:
                typer.echo(event.to_json())
                shown.append(event)

        report, streamer = stream_source(Recognizer.load(run), source, out=out, events=events, fast=fast,
                                         runtime=runtime, on_decision=show)
        for event in report.events[len(shown):]:  # closed when the source ended
            typer.echo(event.to_json())
        console.print(f"{streamer.describe()}\n{report.frames} frames, {report.recognized} recognized, "
                      f"{report.dropped} dropped under load, {len(report.events)} events in {report.seconds:.1f} s",
                      highlight=False)

    run_cli(action)


@app.command("export")
def export_model(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    format: str = typer.Option("onnx", "--format", help="onnx"),
    out: str = typer.Option(None, "--out", help="output file (default: RUN/model.onnx)"),
    data: str = typer.Option(None, "--data", help="real samples for the parity check (any --data file)"),
) -> None:
    """Export the model to ONNX and check it against PyTorch."""
    from pathlib import Path

    from actrec.errors import ConfigError
    from actrec.recognizer import Recognizer

    def action() -> None:
        if format != "onnx":
            raise ConfigError(f"unknown export format '{format}'; choose onnx")
        from actrec.export.onnx import export_onnx
        from actrec.io import load_dataset

        recognizer = Recognizer.load(run)
        folder = Path(run) if Path(run).is_dir() else Path(run).parent
        samples = load_dataset(data) if data else None
        typer.echo(export_onnx(recognizer, out or folder / "model.onnx", data=samples).summary())

    run_cli(action)

# --- comparison commands (issue 5): compare, sweep, audit, report ------------------------------


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
def compare(
    data: str = typer.Option(..., "--data", help="Data file: .npz, .npy (--label-last), long .csv (--labels) or .ts"),
    out: str = typer.Option(..., "--out", help="folder for the tables, plot and run cache"),
    config: str = typer.Option(None, help="YAML list of configurations (Recognizer arguments + name)"),
    model: list[str] = typer.Option([], "--model", help='NAME or NAME:{json model options}, repeatable'),
    seeds: str = typer.Option("3", help="training seeds on one holdout split: a count (3) or a list (0,0,1)"),
    folds: int = typer.Option(None, help="k-fold CV instead of seeds (group-aware when groups exist)"),
    epochs: int = typer.Option(None, help="epochs for configurations that do not set them"),
    split_seed: int = typer.Option(0, help="fixes the holdout split or the folds"),
    cache: bool = typer.Option(True, help="reuse runs from OUT/cache"),
    labels: str = typer.Option(None, help="labels.csv for a long CSV"),
    label_last: bool = typer.Option(False, "--label-last"),
) -> None:
    """Evaluate several model configurations on the same data: mean ± std table, latency, plot."""
    from actrec.evaluation.compare import compare as run_compare, display_table, load_specs, spec_from_option
    from actrec.io import load_dataset

    def action() -> None:
        defaults = {"epochs": epochs} if epochs else {}
        specs = (load_specs(config, defaults) if config else []) + [spec_from_option(text, defaults) for text in model]
        dataset = load_dataset(data, labels=labels, label_last=label_last)
        report = lambda name, run, cached: console.print(f"{name} {run}: {'cached' if cached else 'trained'}")  # noqa: E731
        result = run_compare(dataset, specs, out, seeds=parse_seeds(seeds), folds=folds, split_seed=split_seed, use_cache=cache, on_run=report)
        print_frame(display_table(result.summary), f"{data}: {len(specs)} configuration(s), {result.fits} run(s) trained -> {out}")

    run_cli(action)


def print_frame(frame: Any, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*[str(value) for value in row])
    Console().print(table)


@app.command()
def sweep(
    data: str = typer.Option(..., "--data", help="Data file: .npz, .npy (--label-last), long .csv (--labels) or .ts"),
    space: str = typer.Option(..., "--space", help="space.yaml: base arguments, params to search, enqueue"),
    trials: int = typer.Option(..., "--trials", help="trials this worker runs"),
    out: str = typer.Option(..., "--out", help="folder for the front, plot and best_config.yaml"),
    storage: str = typer.Option(None, help="Optuna storage URL; default sqlite in OUT; postgresql://... to share"),
    study: str = typer.Option("actrec-sweep", help="study name (workers sharing a storage use the same)"),
    objective: str = typer.Option("accuracy+latency", help="accuracy+latency (Pareto) or accuracy (prunes over folds)"),
    folds: int = typer.Option(None, help="score each trial by k-fold CV instead of one holdout split"),
    seed: int = typer.Option(None, help="sampler seed (leave unset when several workers share a study)"),
    tolerance: float = typer.Option(0.01, help="choose the fastest front trial within this top-1 of the best"),
    labels: str = typer.Option(None, help="labels.csv for a long CSV"),
    label_last: bool = typer.Option(False, "--label-last"),
) -> None:
    """Search hyperparameters with Optuna; show the Pareto front; write best_config.yaml."""
    from actrec.evaluation.sweep import load_space, sweep as run_sweep
    from actrec.io import load_dataset

    def action() -> None:
        search_space = load_space(space)
        dataset = load_dataset(data, labels=labels, label_last=label_last)
        report = lambda row: console.print(f"trial {row['number']}: top-1 {row['top1']:.4f}, {row['latency_us']:.0f} µs, {row['params']}")  # noqa: E731
        result = run_sweep(dataset, search_space, out, trials, storage=storage, study_name=study, objective=objective, folds=folds, seed=seed, tolerance=tolerance, on_trial=report)
        shown = result.front[["trial", "top1", "latency_us", "param_count", "params"]].round({"top1": 4, "latency_us": 1})
        print_frame(shown, f"Pareto front of study '{study}' ({len(result.study.trials)} trials)")
        console.print(f"chosen: trial {int(result.best['trial'])} -> {out}/best_config.yaml (actrec train --config)")

    run_cli(action)


@app.command()
def audit(
    data: str = typer.Option(..., "--data", help="Data file: .npz, .npy (--label-last), long .csv (--labels) or .ts"),
    out: str = typer.Option(..., "--out", help="folder for audit.json and audit.md"),
    test: str = typer.Option(None, help="test data, for duplicates and group leakage across the split"),
    noise_model: str = typer.Option("features", help="out-of-fold model for label noise: features | recognizer"),
    folds: int = typer.Option(5, help="folds for the out-of-fold probabilities"),
    seed: int = typer.Option(0),
    labels: str = typer.Option(None, help="labels.csv for a long CSV"),
    test_labels: str = typer.Option(None, help="labels.csv for a long-CSV --test"),
    label_last: bool = typer.Option(False, "--label-last"),
) -> None:
    """Check a dataset: balance, lengths, bad channels, duplicates, leakage, label-noise candidates."""
    from actrec.evaluation.audit import audit_dataset, write_audit
    from actrec.io import load_dataset

    def action() -> None:
        dataset = load_dataset(data, labels=labels, label_last=label_last)
        test_set = load_dataset(test, labels=test_labels, label_last=label_last, label_names=dataset.label_names) if test else None
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


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
