"""Core commands: train, eval, predict, info, demo."""

from __future__ import annotations

from typing import Any

import typer

from actrec.cli import app, console, results_console, run_cli


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
    groups: str = typer.Option(None, "--groups", help="for a .npy: file of group ids (e.g. the video), one per window"),
    label_names: str = typer.Option(None, "--label-names", help="for a .npy: names of classes 0, 1, ... (comma list or a file, one per line)"),
    test: str = typer.Option(None, help="separate test data; default: hold out a group-aware 20%"),
    test_labels: str = typer.Option(None, help="labels.csv for a long-CSV --test"),
    config: str = typer.Option(None, help="YAML of training options (e.g. best_config.yaml from sweep)"),
    model: str = typer.Option(None, help="auto (default), minirocket, multirocket, inception, gru, lstm, stgcn, ctrgcn"),
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
    streams: str = typer.Option(None, help="skeleton streams, one model each, probabilities fused: joint,bone,joint_motion,bone_motion"),
    seed: int = typer.Option(None, help="fixes splits, initialisation and order"),
    devices: int = typer.Option(None, help="processes/GPUs on this node (DDP when > 1)"),
    num_nodes: int = typer.Option(None, help="machines (DDP)"),
    time_budget: float = typer.Option(None, "--time-budget", help="seconds: what auto may spend (default 120); caps a neural model's training"),
    resume: str = typer.Option(None, help="Lightning checkpoint to resume from"),
    init: str = typer.Option(None, "--init", help="clips: torchvision-named weights (.safetensors or .pt, weights only) to start from"),
    on_bad_video: str = typer.Option(None, "--on-bad-video", help="clips: skip (default) or stop at a corrupt, empty or too-short video"),
    progress: bool = typer.Option(True, help="a live bar on a terminal, one line per epoch into a file or pipe"),
) -> None:
    """Train a recognizer, evaluate it on validation and test data, and save everything in OUT."""

    from actrec.data.splits import no_groups_note
    from actrec.evaluation.metrics import near_chance_note
    from actrec.io import load_dataset
    from actrec.io.clips import is_clip_spec
    from actrec.recognizer import TrainConfig
    from actrec.run import load_config_file, train_run

    def action() -> None:
        values = load_config_file(config) if config else {}
        flags = {
            "model": model, "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": optimizer,
            "scheduler": scheduler, "patience": patience, "sampler": sampler, "seed": seed,
            "devices": devices, "num_nodes": num_nodes, "time_budget": time_budget,
        }
        values |= {k: v for k, v in flags.items() if v is not None}
        if option:
            values["model_options"] = dict(values.get("model_options") or {}) | parse_options(option)
        if joints:
            values["joints"] = split_list(joints)
        if augment:
            values["augment"] = split_list(augment)
        if streams:
            values["streams"] = split_list(streams)
        if is_clip_spec(data):
            from actrec.cli.clips import train_clips

            result = train_clips(data, out, test, values, init, on_bad_video, progress)
            print_metrics(result.splits(), f"{result_model(values)} -> {out}", len(result.test["per_class"]))
            for note in result.notes:
                console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
            return
        train_config = TrainConfig(**values)
        train_config.check()
        names = read_names(label_names)
        dataset = load_dataset(data, labels=labels, label_last=label_last, groups=groups, class_names=names)
        test_set = load_dataset(test, labels=test_labels, label_last=label_last, label_names=dataset.label_names, class_names=names) if test else None
        print_note(no_groups_note(dataset))
        result = train_run(dataset, out, train_config, test=test_set, progress=progress, resume_from=resume)
        if result is not None:
            print_metrics(result.splits(), f"{train_config.model} -> {out}", len(result.test["per_class"]))
            for note in [*result.notes, near_chance_note(result.test)]:
                print_note(note)
            if result.processes > 1:
                console.print(f"trained with DDP over {result.processes} processes")

    run_cli(action)


def read_names(value: str | None) -> list[str] | None:
    """`--label-names`: a file with one name per line, or a comma list."""
    from pathlib import Path

    if not value:
        return None
    if Path(value).is_file():
        return [line.strip() for line in Path(value).read_text().splitlines() if line.strip()]
    return split_list(value)


def print_note(note: str | None) -> None:
    if note:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)


def result_model(values: dict[str, Any]) -> str:
    return str(values.get("model") or "tsm")


def print_metrics(result: dict[str, dict[str, Any]], title: str, n_classes: int) -> None:
    """One row per split; top-5 only with more than 5 classes (with fewer it is always 1)."""
    from rich.table import Table

    keys = ["top1", "top5", "macro_f1", "log_loss"] if n_classes > 5 else ["top1", "macro_f1", "log_loss"]
    headers = {"top1": "top-1", "top5": "top-5", "macro_f1": "macro-F1", "log_loss": "log-loss"}
    table = Table()
    for column in ("split", "n", *(headers[key] for key in keys)):
        table.add_column(column)
    for split, metrics in result.items():
        table.add_row(split, str(metrics["n"]), *(f"{metrics[key]:.4f}" for key in keys))
    out = results_console()
    out.print(title, highlight=False, markup=False)
    out.print(table)


@app.command("eval")
def evaluate(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    data: str = DataOption,
    labels: str = typer.Option(None, help="labels.csv for a long CSV"),
    label_last: bool = typer.Option(False, "--label-last"),
    label_names: str = typer.Option(None, "--label-names", help="for a .npy: names of classes 0, 1, ... as given to train"),
    out: str = typer.Option(None, help="write the metrics as JSON here"),
) -> None:
    """Evaluate a saved model on labelled data: top-1, top-5, macro-F1, log-loss."""
    import json

    from actrec.errors import DataError
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
            dataset = load_dataset(data, labels=labels, label_last=label_last, label_names=recognizer.label_names, class_names=read_names(label_names))
            check_label_last(data, dataset, recognizer.frame_shape, label_last)
            if dataset.y is None:
                raise DataError(f"{data}: holds no labels to evaluate against; a long CSV needs --labels, a .npy --label-last")
            metrics = compute_metrics(dataset.y, recognizer.predict_proba(dataset), recognizer.label_names)
        if out:
            write_text_atomic(out, json.dumps(metrics, indent=2))
        print_metrics({"eval": headline(metrics)}, f"{run} on {data}", len(recognizer.label_names))

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
            check_label_last(data, dataset, recognizer.frame_shape, label_last)
            ids, count, proba = dataset.ids, dataset.n_samples, recognizer.predict_proba(dataset)
        write_predictions(out, ids, proba, recognizer.label_names)
        console.print(f"wrote {count} predictions to {out}")

    run_cli(action)


def check_label_last(data: str, dataset: Any, frame_shape: tuple[int, ...], label_last: bool) -> None:
    """A .npy read without --label-last whose frames are one column wider than the model's almost
    surely carries its label last: say so instead of a shape mismatch."""
    from actrec.errors import DataError

    width = dataset.X.shape[2:]
    if not label_last and data.lower().endswith(".npy") and len(frame_shape) == 1 and width == (frame_shape[0] + 1,):
        raise DataError(f"{data}: each step has {width[0]} columns, one more than the model's {frame_shape[0]}; "
                        "if the last column is the label, add --label-last")


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
        results_console().print_json(json.dumps(meta))

    run_cli(action)

@app.command()
def doctor() -> None:
    """Versions, the optional parts found, torch's threads, and what each missing part turns off."""
    from actrec.doctor import compute, optional_parts, versions

    out = results_console()
    out.print(", ".join(f"{name} {version}" for name, version in versions().items()), highlight=False, markup=False)
    out.print(", ".join(f"{name}: {value}" for name, value in compute().items()), highlight=False, markup=False)
    out.print("optional parts:", highlight=False)
    for part in optional_parts():
        if part.usable:
            out.print(f"  ok       {part.name} {part.found}", highlight=False, markup=False)
        elif part.found:
            out.print(f"  broken   {part.name} {part.found}: {part.problem}; off: {part.needed_for}", highlight=False, markup=False)
        else:
            out.print(f"  missing  {part.name}; off: {part.needed_for}; install: {part.install}", highlight=False, markup=False)


@app.command()
def demo(
    out: str = typer.Option("runs/demo", help="folder for the generated data and the run"),
    recordings: int = typer.Option(24, help="synthetic recordings to generate"),
    epochs: int = typer.Option(10),
    seed: int = typer.Option(0),
    progress: bool = typer.Option(True, help="a live bar on a terminal, one line per epoch into a file or pipe"),
) -> None:
    """The main job on the embedded dataset: synthetic skeleton recordings -> windows -> train -> report."""
    import time

    from actrec.demo import run_demo
    from actrec.evaluation.metrics import near_chance_note

    def action() -> None:
        start = time.perf_counter()
        result = run_demo(out, recordings=recordings, epochs=epochs, seed=seed, progress=progress)
        if result is not None:
            print_metrics(result.splits(), f"default model on synthetic skeletons -> {out}/run", len(result.test["per_class"]))
            for note in [*result.notes, near_chance_note(result.test)]:
                print_note(note)
            console.print(f"done in {time.perf_counter() - start:.0f} s; report: {out}/run/report.md, model: {out}/run/model.actrec")

    run_cli(action)
