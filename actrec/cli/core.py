"""Core commands: train, eval, predict, info, demo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import typer

from actrec.cli import app, console, results_console, run_cli
from actrec.cli.layout import DataLayout, with_data_layout

if TYPE_CHECKING:
    from actrec.errors import TrainingInterrupted


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
    documented from the dataclass (`FIELD_HELP`), so a new field reaches `actrec train` by itself.
    `model_options` is the exception: `-o key=value` pairs fill it."""
    import dataclasses
    import inspect
    import typing

    from actrec.config import FIELD_HELP, TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    signature = inspect.signature(command)
    parameters = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    for config_field in dataclasses.fields(TrainConfig):
        if config_field.name == "model_options":
            continue
        flag = "--" + config_field.name.replace("_", "-")
        default = config_field.default
        shown = str(default) if default is not dataclasses.MISSING and default is not None else False
        option = typer.Option(None, flag, help=FIELD_HELP[config_field.name], show_default=shown)
        parameters.append(inspect.Parameter(config_field.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=config_flag_type(hints[config_field.name])))
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
    data: list[str] = typer.Option(..., "--data", help="Data file(s): .npz, .npy (--label-last), long .csv (--labels) or .ts; repeat --data or quote a pattern like 'seq_*.npy' for many (each file without groups is one group); or clips: a folder per class of videos, or a CSV path,label[,group][,start,end]"),
    out: str = typer.Option(..., "--out", help="RUN folder for the model, metrics and plots"),
    test: str = typer.Option(None, help="separate test data (a file or a quoted pattern); default: hold out a group-aware 20%"),
    test_labels: str = typer.Option(None, help="labels.csv for a long-CSV --test"),
    config: str = typer.Option(None, help="YAML of training options (e.g. best_config.yaml from sweep); flags go over it"),
    option: list[str] = typer.Option([], "--option", "-o", help="model option key=value, repeatable (TrainConfig.model_options)"),
    resume: str = typer.Option(None, help="RUN folder: continue its stopped run (RUN/partial) or extend its finished one to --epochs; or a .ckpt file"),
    init: str = typer.Option(None, "--init", help="clips: torchvision-named weights (.safetensors or .pt, weights only) to start from"),
    on_bad_video: str = typer.Option(None, "--on-bad-video", help="clips: skip (default) or stop at a corrupt, empty or too-short video"),
    progress: bool = typer.Option(True, help="a live bar on a terminal, one line per epoch into a file or pipe"),
    layout: DataLayout = DataLayout(),
    **flags: Any,
) -> None:
    """Train a recognizer, evaluate it on validation and test data, and save everything in OUT.

    Every training option (a TrainConfig field) is a flag; all are checked before the data is read.
    """

    from actrec.data.splits import no_groups_note
    from actrec.errors import ConfigError, TrainingInterrupted
    from actrec.evaluation.metrics import near_chance_note
    from actrec.io.clips import is_clip_spec
    from actrec.config import TrainConfig
    from actrec.run import load_config_file, train_run

    def action() -> None:
        values = load_config_file(config) if config else {}
        values |= config_from_flags(flags)
        if option:
            values["model_options"] = dict(values.get("model_options") or {}) | parse_options(option)
        if len(data) == 1 and is_clip_spec(data[0]):
            from actrec.cli.clips import train_clips

            try:
                result = train_clips(data[0], out, test, values, init, on_bad_video, progress, resume)
            except TrainingInterrupted as stop:
                stopped(stop, out)
            print_metrics(result.splits(), f"{result_model(values)} -> {out}", len(result.test["per_class"]))
            for note in result.notes:
                console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
            return
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
            result = train_run(dataset, out, train_config, test=test_set, progress=progress, resume_from=resume)
        except TrainingInterrupted as stop:
            stopped(stop, out)
        if result is not None:
            print_metrics(result.splits(), f"{train_config.model} -> {out}", len(result.test["per_class"]))
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
@with_data_layout
def evaluate(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    data: str = DataOption,
    out: str = typer.Option(None, help="write the metrics as JSON here"),
    test_clips: int = typer.Option(None, "--test-clips", help="clips: average this many clips per video, evenly spaced in time (default: as trained)"),
    test_crops: int = typer.Option(None, "--test-crops", help="clips: 1 (centre) or 3 crops per clip averaged (default: as trained)"),
    layout: DataLayout = DataLayout(),
) -> None:
    """Evaluate a saved model on labelled data: top-1, top-5, macro-F1, log-loss."""
    import json

    from actrec.errors import DataError
    from actrec.evaluation.metrics import compute_metrics, headline
    from actrec.io.atomic import write_text_atomic
    from actrec.predict_files import check_label_last
    from actrec.video.recognizer import load_recognizer

    def action() -> None:
        recognizer = load_recognizer(run)
        from actrec.cli.clips import check_not_clip_options

        check_not_clip_options(recognizer, test_clips, test_crops)
        if getattr(recognizer, "kind", "") == "video":
            from actrec.cli.clips import probabilities

            clips, proba = probabilities(recognizer, data, test_clips, test_crops)
            metrics = compute_metrics(clips.y, proba, recognizer.label_names)
        else:
            dataset = layout.load(data, label_names=recognizer.label_names)
            check_label_last(data, dataset, recognizer.frame_shape, layout.label_last)
            if dataset.y is None:
                raise DataError(f"{data}: holds no labels to evaluate against; a long CSV needs --labels, a .npy --label-last")
            metrics = compute_metrics(dataset.y, recognizer.predict_proba(dataset), recognizer.label_names)
        if out:
            write_text_atomic(out, json.dumps(metrics, indent=2))
        print_metrics({"eval": headline(metrics)}, f"{run} on {data}", len(recognizer.label_names))

    run_cli(action)


@app.command()
@with_data_layout
def predict(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    data: list[str] = typer.Option(..., "--data", help="Data file (.npz, .npy, long .csv, .ts, a keypoint recording .npz or a folder of them, labelled or not; repeat --data or quote a pattern like 'parts/*.npz' for many), or for a clip model one clip folder or CSV"),
    out: str = typer.Option(..., "--out", help="CSV (id, pred, confidence, one probability column per class) for one --data; a folder for one <name>.csv per data file, finished files skipped when run again"),
    window: int = typer.Option(None, "--window", help="keypoint recordings (a recording .npz or a folder of them): frames per window (default: the model's)"),
    stride: int = typer.Option(None, "--stride", help="keypoint recordings: frames between window starts (default: half the window)"),
    test_clips: int = typer.Option(None, "--test-clips", help="clips: average this many clips per video, evenly spaced in time (default: as trained)"),
    test_crops: int = typer.Option(None, "--test-crops", help="clips: 1 (centre) or 3 crops per clip averaged (default: as trained)"),
    ray: str = typer.Option(None, "--ray", help="Predict the data files as tasks on a Ray cluster: its address, or auto (needs actrec[cluster])."),
    submission: bool = typer.Option(False, "--submission", help="write only id and one probability column per class (a competition's sample_submission layout)"),
    layout: DataLayout = DataLayout(),
) -> None:
    """Predict every sample of each data file: id, pred, confidence and one probability column per
    class (with --submission only id and the class columns, as competitions ask)."""
    from actrec.video.recognizer import is_video_model_file

    if is_video_model_file(run):
        return predict_clips(run, data, out, test_clips, test_crops, ray, submission)
    from actrec.cli.clips import check_not_clip_options
    from actrec.predict_files import ReadOptions, predict_files

    run_cli(lambda: check_not_clip_options(None, test_clips, test_crops))
    names = layout.class_names
    options = ReadOptions(label_last=layout.label_last, class_names=tuple(names) if names else None, window=window, stride=stride)
    outcomes = run_cli(lambda: predict_files(run, data, out, options, ray, console, submission))
    failed = sum(outcome.status == "failed" for outcome in outcomes)
    if len(outcomes) > 1 or failed:
        console.print(f"{len(outcomes) - failed} of {len(outcomes)} files predicted or already done; {failed} failed")
    if failed:
        raise typer.Exit(2)


def predict_clips(run: str, data: list[str], out: str, test_clips: int | None, test_crops: int | None, ray: str | None,
                  submission: bool = False) -> None:
    """A clip model predicts one clip folder or CSV into one CSV, on this machine."""
    from actrec.cli.clips import probabilities
    from actrec.io.predictions import write_predictions
    from actrec.video.recognizer import load_recognizer

    def action() -> None:
        from actrec.errors import ConfigError

        if len(data) != 1 or ray is not None:
            raise ConfigError("a clip model predicts one clip folder or CSV per run, on this machine; give one --data and no --ray")
        recognizer = load_recognizer(run)
        clips, proba = probabilities(recognizer, data[0], test_clips, test_crops)
        write_predictions(out, clips.ids, proba, recognizer.label_names, submission=submission)
        console.print(f"wrote {clips.n_samples} predictions to {out}")

    run_cli(action)


@app.command()
def info(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    as_json: bool = typer.Option(False, "--json", help="the model's whole metadata as JSON (config, schema, pipeline state, metrics)"),
) -> None:
    """Show what a saved model expects and how it was trained: a short summary, or --json for everything."""
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
        if as_json:
            results_console().print_json(json.dumps(meta))
            return
        out = results_console()
        for line in info_summary(run, meta):
            out.print(line, highlight=False, markup=False)

    run_cli(action)


def info_summary(run: str, meta: dict[str, Any]) -> list[str]:
    """A few lines on a model from its metadata: kind and size, classes, input, features, rules, scores."""
    config = meta.get("config") or {}
    options = ", ".join(f"{key}={value}" for key, value in (config.get("model_options") or {}).items() if key != "members")
    members = (config.get("model_options") or {}).get("members")
    model = f"{config.get('model', '?')}" + (f" ({options})" if options else "")
    if members:
        model += f", members: {', '.join(str(member.get('model', member)) if isinstance(member, dict) else str(member) for member in members)}"
    names = list(meta.get("label_names") or [])
    shown = ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")
    rate = meta.get("sample_rate_hz")
    at = f" at {rate:g} Hz" if rate else ""
    if meta.get("kind") == "video":
        source = f"input: clips of {meta.get('window_frames')} frames{at}"
    else:
        shape = meta.get("frame_shape") or []
        what = f"skeleton {meta['schema']}" if meta.get("schema") else (
            f"features {', '.join((meta.get('feature_names') or [])[:6])}{' ...' if len(meta.get('feature_names') or []) > 6 else ''}"
            if meta.get("feature_names") else "features by column order")
        source = f"input: frames {list(shape)} ({what}), window {meta.get('window_length')} steps{at}"
    lines = [f"{run}: {model}, {meta.get('parameters', 0):,} parameters (actrec {meta.get('actrec_version', '?')})",
             f"classes ({len(names)}): {shown}", source]
    if meta.get("pipeline"):
        lines.append(f"features: {' -> '.join(meta['pipeline'])}")
    rules = meta.get("decision_rules")
    lines.append("stream rules: fitted by stream --calibrate" + (f" (enter {rules.get('enter')}, smoothing {rules.get('smoothing_frames')} frames)" if rules else "")
                 if rules else "stream rules: defaults scaled to the window (actrec stream prints them)")
    for split, scores in (meta.get("metrics") or {}).items():
        if isinstance(scores, dict) and "top1" in scores:
            lines.append(f"{split}: top-1 {scores['top1']:.4f}, macro-F1 {scores.get('macro_f1', float('nan')):.4f} on {scores.get('n', '?')} samples")
    lines.append(f"everything: actrec info {run} --json")
    return lines


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
