"""Core commands: train, eval, predict, info, demo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import typer

from actrec.cli import app, console, results_console, run_cli
from actrec.cli.layout import DataLayout, with_data_layout

if TYPE_CHECKING:
    from actrec.errors import TrainingInterrupted


DataOption = typer.Option(
    ...,
    "--data",
    help="Data file(s): .npz, .npy (--label-last), long .csv (--labels) or .ts; repeat --data or quote a pattern like 'seq_*.npy' for many; or clips: a folder per class of videos, or a CSV path,label[,group][,start,end]",
)


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


def config_flag_type(annotation: Any) -> type:
    """The command-line type of a TrainConfig field: lists are comma-separated text, an optional
    field takes its inner type (`--class-weight none` gives None)."""
    import types
    import typing

    if typing.get_origin(annotation) is list:
        return str
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return config_flag_type(inner[0])
    return annotation


def with_config_flags(command: Any) -> Any:
    """Give `command` (which takes `**flags`) one `--flag` per TrainConfig field, typed and
    documented from the dataclass (each field's help, `config.field_help`), so a new field
    reaches `actrec train` by itself.
    `model_options` is the exception: `-o key=value` pairs fill it."""
    import dataclasses
    import inspect
    import typing

    from actrec.config import RENAMED, TrainConfig, field_help

    hints = typing.get_type_hints(TrainConfig)
    signature = inspect.signature(command)
    parameters = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    for config_field in dataclasses.fields(TrainConfig):
        if config_field.name == "model_options":
            continue
        flag = "--" + config_field.name.replace("_", "-")
        default = config_field.default
        shown = str(default) if default is not dataclasses.MISSING and default is not None else False
        # an option's old name (`config.RENAMED`) stays a flag beside the new one
        old_flags = ["--" + old.replace("_", "-") for old, new in RENAMED.items() if new == config_field.name]
        option = typer.Option(None, flag, *old_flags, help=field_help(config_field), show_default=shown)
        parameters.append(
            inspect.Parameter(
                config_field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option,
                annotation=config_flag_type(hints[config_field.name]),
            )
        )
    command.__signature__ = signature.replace(parameters=parameters)
    return command


def config_from_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig values given as flags (None = not given), converted from their text form."""
    import dataclasses
    import typing

    from actrec.config import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    values: dict[str, Any] = {}
    for config_field in dataclasses.fields(TrainConfig):
        value = flags.get(config_field.name)
        if value is None:
            continue
        annotation = hints[config_field.name]
        if typing.get_origin(annotation) is list:
            value = split_list(value)
        elif isinstance(value, str) and value.lower() == "none" and type(None) in typing.get_args(annotation):
            value = None
        values[config_field.name] = value
    return values


@app.command()
@with_config_flags
@with_data_layout
def train(
    data: list[str] = typer.Option(
        ...,
        "--data",
        help="Data file(s): .npz, .npy (--label-last), long .csv (--labels) or .ts; repeat --data or quote a pattern like 'seq_*.npy' for many (each file without groups is one group); or clips: a folder per class of videos, or a CSV path,label[,group][,start,end]",
    ),
    out: str = typer.Option(..., "--out", help="RUN folder for the model, metrics and plots"),
    test: str = typer.Option(
        None, help="separate test data (a file or a quoted pattern); default: hold out a group-aware 20%"
    ),
    test_labels: str = typer.Option(None, help="labels.csv for a long-CSV --test"),
    config: str = typer.Option(
        None, help="YAML of training options (e.g. best_config.yaml from sweep); flags go over it"
    ),
    option: list[str] = typer.Option(
        [], "--option", "-o", help="model option key=value, repeatable (TrainConfig.model_options)"
    ),
    resume: str = typer.Option(
        None,
        help="RUN folder: continue its stopped run (RUN/partial) or extend its finished one to --epochs; or a .ckpt file",
    ),
    init: str = typer.Option(
        None, "--init", help="clips: torchvision-named weights (.safetensors or .pt, weights only) to start from"
    ),
    on_bad_video: str = typer.Option(
        None, "--on-bad-video", help="clips: skip (default) or stop at a corrupt, empty or too-short video"
    ),
    progress: bool = typer.Option(True, help="a live bar on a terminal, one line per epoch into a file or pipe"),
    layout: DataLayout = DataLayout(),
    **flags: Any,
) -> None:
    """Train a recognizer, evaluate it on validation and test data, and save everything in OUT.

    Every training option (a TrainConfig field) is a flag; all are checked before the data is read.
    """

    from actrec.config import TrainConfig
    from actrec.data.splits import no_groups_note
    from actrec.errors import ConfigError, TrainingInterrupted
    from actrec.evaluation.metrics import near_chance_note
    from actrec.io.clips import is_clip_spec
    from actrec.runs.config_file import load_config_file
    from actrec.runs.sequences import train_run

    def action() -> None:
        values = load_config_file(config) if config else {}
        values |= config_from_flags(flags)
        if option:
            values["model_options"] = dict(values.get("model_options") or {}) | parse_options(option)
        if len(data) == 1 and is_clip_spec(data[0]):
            from actrec.cli.clips import train_clips

            try:
                model, result = train_clips(data[0], out, test, values, init, on_bad_video, progress, resume)
            except TrainingInterrupted as stop:
                stopped(stop, out)
        else:
            try:
                train_config = TrainConfig(**values)
                train_config.check()
            except ConfigError as error:  # the value may come from the file: say which file
                raise ConfigError(f"{config} (with the flags given): {error}" if config else error) from None
            dataset = layout.load(data)
            test_set = layout.load_test(test, test_labels, dataset.label_names) if test else None
            for note in [*dataset.notes, no_groups_note(dataset)]:
                print_note(note)
            try:
                model, result = (
                    train_config.model,
                    train_run(dataset, out, train_config, test=test_set, progress=progress, resume_from=resume),
                )
            except TrainingInterrupted as stop:
                stopped(stop, out)
        if result is not None:
            print_metrics(result.splits(), f"{model} -> {out}", len(result.test["per_class"]))
            for note in [*result.notes, near_chance_note(result.test)]:
                print_note(note)
            if result.processes > 1:
                console.print(f"trained with DDP over {result.processes} processes")

    run_cli(action)


def stopped(stop: TrainingInterrupted, out: str) -> NoReturn:
    """A training run stopped by SIGINT / SIGTERM (`TrainingInterrupted`): one line, exit 130 / 143."""
    how = f"; to resume, run the same command with --resume {out}" if stop.checkpoint else ""
    console.print(f"[red]interrupted:[/red] {stop}; nothing published in {out}{how}", highlight=False, soft_wrap=True)
    raise typer.Exit(stop.exit_code) from None


def print_note(note: str | None) -> None:
    if note:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)


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
@with_data_layout
def evaluate(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    data: list[str] = DataOption,
    out: str = typer.Option(None, help="write the metrics as JSON here"),
    test_clips: int = typer.Option(
        None,
        "--test-clips",
        help="clips: average this many clips per video, evenly spaced in time (default: as trained)",
    ),
    test_crops: int = typer.Option(
        None, "--test-crops", help="clips: 1 (centre) or 3 crops per clip averaged (default: as trained)"
    ),
    layout: DataLayout = DataLayout(),
) -> None:
    """Evaluate a saved model on labelled data: top-1, top-5, macro-F1, log-loss."""
    import json

    from actrec.cli.clips import report_bad_video
    from actrec.errors import DataError
    from actrec.evaluation.metrics import compute_metrics, headline
    from actrec.io.atomic import write_text_atomic
    from actrec.recognizers import load_recognizer

    def action() -> None:
        recognizer = load_recognizer(run)
        options = recognizer.prediction_options(test_clips, test_crops)
        inputs, skipped = recognizer.read_data(data, layout)
        for line in skipped:
            report_bad_video(line)
        if inputs.y is None:
            raise DataError(
                f"{' '.join(data)}: holds no labels to evaluate against; a long CSV needs --labels, a .npy --label-last"
            )
        metrics = compute_metrics(inputs.y, recognizer.predict_proba(inputs, **options), recognizer.label_names)
        if out:
            write_text_atomic(out, json.dumps(metrics, indent=2))
        print_metrics({"eval": headline(metrics)}, f"{run} on {' '.join(data)}", len(recognizer.label_names))

    run_cli(action)


@app.command()
@with_data_layout
def predict(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    data: list[str] = typer.Option(
        [],
        "--data",
        help="Data file (.npz, .npy, long .csv, .ts, or any --recordings source, labelled or not; repeat --data or quote a pattern like 'parts/*.npz' for many), or for a clip model one clip folder or CSV",
    ),
    recordings: list[str] = typer.Option(
        [],
        "--recordings",
        help="keypoint sources cut into windows (--window, --stride) or frames (--per-frame): a recording .npz or a folder of them, OpenPose/COCO/MediaPipe JSON, a video (keypoints extracted now), a session CSV (time + joint columns)",
    ),
    out: str = typer.Option(
        ...,
        "--out",
        help="CSV (id, pred, confidence, one probability column per class) for one --data; a folder for one <name>.csv per data file, finished files skipped when run again",
    ),
    window: int = typer.Option(
        None,
        "--window",
        help="keypoint sources (--recordings): frames per window (default: the model's)",
    ),
    stride: int = typer.Option(
        None, "--stride", help="keypoint sources: frames between window starts (default: half the window)"
    ),
    per_frame: bool = typer.Option(
        False,
        "--per-frame",
        help="keypoint sources: one row per frame (id name@frame, time), from the window ending there, as streaming gives it",
    ),
    test_clips: int = typer.Option(
        None,
        "--test-clips",
        help="clips: average this many clips per video, evenly spaced in time (default: as trained)",
    ),
    test_crops: int = typer.Option(
        None, "--test-crops", help="clips: 1 (centre) or 3 crops per clip averaged (default: as trained)"
    ),
    ray: str = typer.Option(
        None,
        "--ray",
        help="Predict the data files as tasks on a Ray cluster: its address, or auto (needs actrec[cluster]); an array folder goes in shards of 16,384 samples.",
    ),
    submission: bool = typer.Option(
        False,
        "--submission",
        help="write only id and one probability column per class (a competition's sample_submission layout; --columns 'id,<classes>')",
    ),
    columns: str = typer.Option(
        None,
        "--columns",
        help="the CSV's columns, in order: any of id, start_time, end_time, time, pred, confidence and the class names, <classes> for every class (e.g. 'id,sit,walk' or 'id,pred')",
    ),
    layout: DataLayout = DataLayout(),
) -> None:
    """Predict every sample of each data file: id, pred, confidence and one probability column per
    class (with --submission only id and the class columns, as competitions ask; --columns to pick)."""
    from actrec.errors import ConfigError
    from actrec.io.predictions import SUBMISSION
    from actrec.jobs.predict_files import ReadOptions, predict_files

    print_note(layout.unused_by_prediction())
    names = layout.class_names
    options = ReadOptions(
        label_last=layout.label_last,
        class_names=tuple(names) if names else None,
        window=window,
        stride=stride,
        per_frame=per_frame,
        test_clips=test_clips,
        test_crops=test_crops,
    )

    def action() -> Any:
        if submission and columns:
            raise ConfigError("--submission is --columns 'id,<classes>'; give one of the two")
        if not data and not recordings:
            raise ConfigError("give --data FILE or --recordings SOURCE to predict")
        chosen = SUBMISSION if submission else tuple(split_list(columns)) if columns else None
        return predict_files(run, [*data, *recordings], out, options, ray, console, chosen)

    outcomes = run_cli(action)
    failed = sum(outcome.status == "failed" for outcome in outcomes)
    if len(outcomes) > 1 or failed:
        console.print(f"{len(outcomes) - failed} of {len(outcomes)} files predicted or already done; {failed} failed")
    if failed:
        raise typer.Exit(2)


@app.command()
def info(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    as_json: bool = typer.Option(
        False, "--json", help="print the model file's whole metadata (and the run's metrics) as JSON"
    ),
) -> None:
    """Show what a saved model is, what it expects and how well it did: a short summary, or --json."""
    import json

    from actrec.recognizers import load_recognizer

    def action() -> None:
        recognizer = load_recognizer(run)
        path = model_file_path(run)
        metrics_file = path.parent / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
        parameters = sum(p.numel() for p in recognizer.network.parameters())
        if as_json:
            meta = recognizer.metadata() | {"parameters": parameters}
            if metrics is not None:
                meta["metrics"] = metrics
            results_console().print_json(json.dumps(meta))
            return
        names = list(recognizer.label_names)
        rows = recognizer.describe() | {
            "classes": f"{len(names)}: {', '.join(names[:8])}" + (", ..." if len(names) > 8 else ""),
            "size": f"{parameters:,} parameters; {path} ({path.stat().st_size / 1e6:.1f} MB)",
        }
        if metrics is not None:
            rows["metrics"] = metrics_line(metrics)
        out = results_console()
        width = max(len(key) for key in rows)
        for key, value in rows.items():
            out.print(f"{key:<{width}}  {value}", highlight=False, markup=False, soft_wrap=True)

    run_cli(action)


def model_file_path(run: str) -> Any:
    """The model file `run` names: the file itself, or RUN/model.actrec."""
    from pathlib import Path

    from actrec.io.model_file import MODEL_FILE

    return Path(run) / MODEL_FILE if Path(run).is_dir() else Path(run)


def metrics_line(metrics: dict[str, Any]) -> str:
    """`RUN/metrics.json` as one line: each split's n, top-1, macro-F1 and log-loss."""
    parts = []
    for split, values in metrics.items():
        if isinstance(values, dict) and "top1" in values:
            parts.append(
                f"{split} (n={values.get('n', '?')}) top-1 {values['top1']:.3f}, macro-F1 {values['macro_f1']:.3f}, log-loss {values['log_loss']:.3f}"
            )
    return "; ".join(parts) or "none recorded"


@app.command()
def doctor() -> None:
    """Versions, the optional parts found, torch's threads, and what each missing part turns off."""
    from actrec.cli.doctor import compute, optional_parts, versions

    out = results_console()
    out.print(", ".join(f"{name} {version}" for name, version in versions().items()), highlight=False, markup=False)
    out.print(", ".join(f"{name}: {value}" for name, value in compute().items()), highlight=False, markup=False)
    out.print("optional parts:", highlight=False)
    for part in optional_parts():
        if part.usable:
            out.print(f"  ok       {part.name} {part.found}", highlight=False, markup=False)
        elif part.found:
            out.print(
                f"  broken   {part.name} {part.found}: {part.problem}; off: {part.needed_for}",
                highlight=False,
                markup=False,
            )
        else:
            out.print(
                f"  missing  {part.name}; off: {part.needed_for}; install: {part.install}",
                highlight=False,
                markup=False,
            )


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

    from actrec.cli.demo import run_demo
    from actrec.evaluation.metrics import near_chance_note

    def action() -> None:
        start = time.perf_counter()
        result = run_demo(out, recordings=recordings, epochs=epochs, seed=seed, progress=progress)
        if result is not None:
            print_metrics(
                result.splits(), f"default model on synthetic skeletons -> {out}/run", len(result.test["per_class"])
            )
            for note in [*result.notes, near_chance_note(result.test)]:
                print_note(note)
            console.print(
                f"done in {time.perf_counter() - start:.0f} s; report: {out}/run/report.md, model: {out}/run/model.actrec"
            )

    run_cli(action)
