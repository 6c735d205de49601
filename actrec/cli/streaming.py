"""Streaming commands: stream, export."""

from __future__ import annotations

from typing import Any

import typer

from actrec.cli import app, console, run_cli
from actrec.cli.layout import DataLayout, with_data_layout


@app.command()
def stream(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    source: str = typer.Option(
        None,
        "--source",
        help="video FILE, webcam:N, csv:FILE or FILE.csv (time + feature columns, or J*C keypoint columns), a recording .npz, an OpenPose JSON folder, or a COCO/MediaPipe .json",
    ),
    out: str = typer.Option(None, "--out", help="annotated video (skeleton, label, confidence, timeline)"),
    events: str = typer.Option(None, "--events", help="events JSONL: one start/end object per line"),
    fast: bool = typer.Option(False, "--fast", help="replay files as fast as possible (no dropped frames)"),
    runtime: str = typer.Option("auto", "--runtime", help="auto | numpy | torch | onnx"),
    calibrate: str = typer.Option(
        None, "--calibrate", help="session CSV (time + features) to fit the decision rules on; saves them in the model"
    ),
    segments: str = typer.Option(
        None, "--segments", help="with --calibrate: the session's true segments, start,end,label in seconds"
    ),
    sequence_id: str = typer.Option(None, "--id", help="csv: the sequence of a long CSV (id column) to stream"),
    resample: bool = typer.Option(
        False, "--resample", help="csv: resample a session recorded at another rate to the model's"
    ),
    rules: str = typer.Option(
        None, "--rules", help="YAML of decision rules (enter, exit, thresholds, smoothing, vote_k, ...)"
    ),
    enter: float = typer.Option(None, help="smoothed probability a class needs to start"),
    exit_below: float = typer.Option(None, "--exit", help="probability below which an active class ends (hysteresis)"),
    threshold: list[str] = typer.Option([], "--threshold", help="CLASS=P: enter threshold of one class, repeatable"),
    smoothing: str = typer.Option(None, help="ema | mean | none"),
    smoothing_frames: int = typer.Option(None, help="frames the smoothing spans"),
    vote_k: int = typer.Option(None, help="a class wins when it leads on k ..."),
    vote_n: int = typer.Option(None, help="... of the last n frames"),
    min_event_s: float = typer.Option(None, help="seconds a label must hold before its event starts"),
    no_one_after_s: float = typer.Option(None, help="seconds without input before 'no one'"),
    server: str = typer.Option(
        None, "--server", help="stream to `actrec serve` at this URL; RUN is then the served model's name"
    ),
    token: str = typer.Option(None, "--token", envvar="ACTREC_SERVE_TOKEN", help="bearer token for --server"),
    people: bool = typer.Option(
        False,
        "--people",
        help="video: every person found, tracked and recognized on their own; events carry the track id",
    ),
) -> None:
    """Recognize actions frame by frame and emit start/end events; or, with --calibrate, fit the
    decision rules to a session with known segments."""
    from actrec.errors import ConfigError
    from actrec.recognizers import load_recognizer
    from actrec.stream.decisions import load_rules
    from actrec.stream.live import stream_source

    def rule_settings() -> dict[str, Any]:
        """The rules file, then the flags over it."""
        from actrec.errors import ConfigError

        settings = load_rules(rules) if rules else {}
        flags = {
            "enter": enter,
            "exit": exit_below,
            "smoothing": smoothing,
            "smoothing_frames": smoothing_frames,
            "vote_k": vote_k,
            "vote_n": vote_n,
            "min_event_s": min_event_s,
            "no_one_after_s": no_one_after_s,
        }
        settings |= {name: value for name, value in flags.items() if value is not None}
        for pair in threshold:
            name, sep, value = pair.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"--threshold '{pair}' is not CLASS=P, e.g. --threshold fall=0.8")
            settings["thresholds"] = dict(settings.get("thresholds") or {}) | {name.strip(): value}
        return settings

    def action() -> None:
        # with --server, RUN names the served model: nothing to load here
        local = load_recognizer(run) if server is None else None
        if local is not None and local.input_medium != "frames":  # a video cut into clips, not fed frame by frame
            if calibrate:
                raise ConfigError(
                    "--calibrate fits decision rules on a sensor or keypoint session; a clip model streams with its default rules"
                )
            if not source:
                raise ConfigError("give --source FILE to stream a clip model")
            return stream_clip_model(local, source, out, events, rule_settings())
        if calibrate:
            return calibrate_rules(run, calibrate, segments, sequence_id, resample)
        if not source:
            raise ConfigError(
                "give --source FILE|webcam:N|csv:FILE to stream, or --calibrate SESSION.csv --segments FILE"
            )
        settings = rule_settings()
        model, remote = (local, None) if server is None else remote_session(server, run, token, settings)
        shown: list[Any] = []

        def show(decision: Any) -> None:
            for event in decision.events:
                typer.echo(event.to_json())
                shown.append(event)

        report, streamer = stream_source(
            model,
            source,
            out=out,
            events=events,
            fast=fast,
            runtime=runtime,
            on_decision=show,
            sequence_id=sequence_id,
            resample=resample,
            rule_settings=settings,
            streamer=remote,
            people=people,
        )
        for event in report.events[len(shown) :]:  # closed when the source ended
            typer.echo(event.to_json())
        rules_line = streamer.rules.summary() + (" (the served session's, with the flags given)" if server else "")
        console.print(
            f"{streamer.describe()}\n{rules_line}\n{report.frames} frames, {report.recognized} recognized, "
            f"{report.dropped} dropped under load, {len(report.events)} events in {report.seconds:.1f} s\n"
            f"stages: {report.stage_line()}",
            highlight=False,
        )
        decisions = getattr(streamer, "decisions", None)  # a served session's rules run on the server
        for note in decisions.notes() if decisions is not None else []:
            console.print(f"[yellow]note:[/yellow] {note}", highlight=False, soft_wrap=True)

    run_cli(action)


def calibrate_rules(run: str, session: str, segments: str | None, sequence_id: str | None, resample: bool) -> None:
    """Fit decision rules on a session CSV with known segments, save them into the model, and
    record the segment F1 before and after in RUN/metrics.json under "stream"."""
    import json
    from pathlib import Path

    from actrec.data.segments import load_segments
    from actrec.errors import ConfigError
    from actrec.io.atomic import write_text_atomic
    from actrec.io.model_file import MODEL_FILE
    from actrec.recognizers import load_recognizer
    from actrec.stream.calibrate import calibrate
    from actrec.stream.sources import CsvSource

    if not segments:
        raise ConfigError(
            "--calibrate needs --segments FILE (start,end,label in seconds) with the session's true segments"
        )
    recognizer = load_recognizer(run)
    csv = CsvSource(session.removeprefix("csv:"), recognizer, sequence_id, resample)
    table = load_segments(segments, session=Path(session).stem)
    truth = [
        (str(label), float(start), float(end))
        for label, start, end in zip(table["label"].tolist(), table["start"].tolist(), table["end"].tolist())
    ]
    report = calibrate(recognizer, csv.values, csv.times, truth)
    path = Path(run) / MODEL_FILE if Path(run).is_dir() else Path(run)
    if report["saved"]:
        recognizer.save(path)
    metrics_path = path.parent / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics["stream"] = {
        "session": str(session),
        "segment_f1_default_rules": report["before"]["f1"],
        "segment_f1_fitted_rules": report["after"]["f1"],
        **{k: report[k] for k in ("before", "after", "rules", "saved")},
    }
    write_text_atomic(metrics_path, json.dumps(metrics, indent=2))
    before, after = report["before"], report["after"]
    outcome = f"saved in {path}" if report["saved"] else f"nothing saved: {path} keeps its rules"
    console.print(
        f"segment F1 at IoU >= 0.5: default rules {before['f1']:.3f} ({before['predicted']} segments for "
        f"{before['true']}), fitted {after['f1']:.3f} ({after['predicted']} segments); "
        f"{report['rules_tried']} rule sets tried; {outcome}",
        highlight=False,
        soft_wrap=True,
    )
    if "why" in report:
        console.print(f"[yellow]note:[/yellow] {report['why']}", highlight=False, soft_wrap=True)


def remote_session(server: str, name: str, token: str | None, rules: dict[str, Any]) -> tuple[Any, Any]:
    from actrec.serve.client import RemoteStreamer, StreamClient, remote_model

    return remote_model(server, name, token), RemoteStreamer(StreamClient(server, name, token, rules=rules), server)


def stream_clip_model(
    recognizer: Any, source: str, out: str | None, events: str | None, settings: dict[str, Any]
) -> None:
    """`stream` for a clip model: a rolling clip buffer through the same decision rules, with the
    rule flags (`settings`) over the defaults."""
    from actrec.stream.clips import stream_clips

    def show(new: list[Any]) -> None:
        for event in new:
            typer.echo(event.to_json())

    report = stream_clips(recognizer, source, events=events, on_events=show, out=out, rule_settings=settings)
    assert report.rules is not None
    console.print(
        f"{report.rules.summary()}\nclip model {recognizer.model_name}: {report.frames} frames, "
        f"{report.predictions} clip predictions, {len(report.events)} events in {report.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False, soft_wrap=True)


@app.command("export")
@with_data_layout
def export_model(
    run: str = typer.Argument(..., help="RUN folder or model.actrec"),
    format: str = typer.Option("onnx", "--format", help="onnx"),
    out: str = typer.Option(None, "--out", help="output file (default: RUN/model.onnx)"),
    data: list[str] = typer.Option(
        [],
        "--data",
        help="real samples for the parity check (any --data file, or keypoint recordings; repeat or quote a pattern for many)",
    ),
    layout: DataLayout = DataLayout(),
) -> None:
    """Export the model to ONNX and check it against PyTorch."""
    from pathlib import Path

    from actrec.errors import ConfigError
    from actrec.recognizers import load_recognizer

    def action() -> None:
        if format != "onnx":
            raise ConfigError(f"unknown export format '{format}'; choose onnx")
        from actrec.cli.core import print_note
        from actrec.data.loading import check_label_last, expand_data_specs, load_for_prediction
        from actrec.export.onnx import export_onnx

        folder = Path(run) if Path(run).is_dir() else Path(run).parent
        recognizer = load_recognizer(run)
        if recognizer.input_medium != "frames":  # a clip graph; no frame window or per-frame step graph
            from actrec.data.clips import load_clips
            from actrec.export.clips import export_clip_onnx

            if len(data) > 1:
                raise ConfigError(f"--data given {len(data)} times; a clip model reads one clip folder or CSV")
            clips = load_clips(data[0], label_names=recognizer.label_names) if data else None
            typer.echo(
                export_clip_onnx(recognizer, out or folder / "model.onnx", data=clips)
                .summary()
                .replace("windows", "clips")
            )
            return
        files = expand_data_specs(data) if data else []
        samples = None
        if len(files) == 1:  # one file may be keypoint recordings, cut into the model's window
            print_note(layout.unused_by_prediction())
            window = int(recognizer.window_length)
            samples = load_for_prediction(
                files[0], window, max(1, window // 2), layout.label_last, layout.class_names, model=recognizer
            )
        elif files:
            samples = layout.load(data)
        if samples is not None:
            check_label_last(data, samples, recognizer.frame_shape, layout.label_last)
        path = Path(out) if out else folder / "model.onnx"
        typer.echo(export_onnx(recognizer, path, data=samples).summary())
        from actrec.stream.kernel_graph import export_kernel_step

        step_path = path.with_suffix(".step.onnx")
        worst = export_kernel_step(recognizer, step_path)
        if worst is not None:
            typer.echo(
                f"{step_path} (per-frame step: state in, state out): max |onnx - compiled stream| = {worst:.2e} logits over 300 random frames"
            )

    run_cli(action)
