"""Core commands: train, eval, predict, info, demo."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

from actrec.cli import app, console, run_cli


DataOption = typer.Option(..., "--data", help="Data file: .npz, .npy (--label-last), long .csv (--labels) or .ts; or clips: a folder per class of videos, or a CSV path,label[,group][,start,end]")


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
    init: str = typer.Option(None, "--init", help="clips: torchvision-named weights (.safetensors or .pt, weights only) to start from"),
    on_bad_video: str = typer.Option(None, "--on-bad-video", help="clips: skip (default) or stop at a corrupt, empty or too-short video"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Train a recognizer, evaluate it on validation and test data, and save everything in OUT."""

    from actrec.io import load_dataset
    from actrec.io.clips import is_clip_spec
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
        if is_clip_spec(data):
            from actrec.cli.clips import train_clips

            result = train_clips(data, out, test, values, init, on_bad_video, progress)
            print_metrics(result.splits(), f"{result_model(values)} -> {out}")
            for note in result.notes:
                console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
            return
        train_config = TrainConfig(**values)
        train_config.check()
        dataset = load_dataset(data, labels=labels, label_last=label_last)
        test_set = load_dataset(test, labels=test_labels, label_last=label_last, label_names=dataset.label_names) if test else None
        result = train_run(dataset, out, train_config, test=test_set, progress=progress, resume_from=resume)
        if result is not None:
            print_metrics(result.splits(), f"{train_config.model} -> {out}")
            for note in result.notes:
                console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
            if result.processes > 1:
                console.print(f"trained with DDP over {result.processes} processes")

    run_cli(action)


def result_model(values: dict[str, Any]) -> str:
    return str(values.get("model") or "tsm")


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
    from actrec.video.recognizer import load_recognizer

    def action() -> None:
        recognizer = load_recognizer(run)
        if getattr(recognizer, "kind", "") == "video":
            from actrec.cli.clips import probabilities

            clips, proba = probabilities(recognizer, data)
            metrics = compute_metrics(clips.y, proba, recognizer.label_names)
        else:
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
    from actrec.video.recognizer import load_recognizer

    def action() -> None:
        recognizer = load_recognizer(run)
        if getattr(recognizer, "kind", "") == "video":
            from actrec.cli.clips import probabilities

            clips, proba = probabilities(recognizer, data)
            ids, count = clips.ids, clips.n_samples
        else:
            dataset = load_dataset(data, label_last=label_last, label_names=recognizer.label_names)
            ids, count, proba = dataset.ids, dataset.n_samples, recognizer.predict_proba(dataset)
        write_predictions(out, ids, proba, recognizer.label_names)
        console.print(f"wrote {count} predictions to {out}")

    run_cli(action)


@app.command()
def info(run: str = typer.Argument(..., help="RUN folder or model.actrec")) -> None:
    """Show what a saved model expects and how it was trained."""
    import json
    from pathlib import Path

    from actrec.video.recognizer import load_recognizer

    def action() -> None:
        recognizer = load_recognizer(run)
        meta = recognizer.metadata()
        meta["parameters"] = sum(p.numel() for p in recognizer.network.parameters())
        if "pipeline" in meta:
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
            print_metrics(result.splits(), f"default model on synthetic skeletons -> {out}/run")
            console.print(f"done in {time.perf_counter() - start:.0f} s; report: {out}/run/report.md, model: {out}/run/model.actrec")

    run_cli(action)
