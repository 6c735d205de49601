"""Streaming commands: stream, export."""

from __future__ import annotations

from typing import Any

import typer

from actrec.cli import app, console, run_cli


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
    from actrec.video.recognizer import is_video_model_file

    def action() -> None:
        if is_video_model_file(run):
            return stream_clip_model(run, source, out, events)
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


def stream_clip_model(run: str, source: str, out: str | None, events: str | None) -> None:
    """`stream` for a clip model: a rolling clip buffer through the same decision rules."""
    from actrec.errors import ConfigError
    from actrec.video.recognizer import VideoRecognizer
    from actrec.video.stream import stream_clips

    if out:
        raise ConfigError("--out (annotated video) is not available for clip models yet; use --events")
    recognizer = VideoRecognizer.load(run)

    def show(new: list[Any]) -> None:
        for event in new:
            typer.echo(event.to_json())

    report = stream_clips(recognizer, source, events=events, on_events=show)
    console.print(f"clip model {recognizer.model_name}: {report.frames} frames, {report.predictions} clip predictions, "
                  f"{len(report.events)} events in {report.seconds:.1f} s", highlight=False, soft_wrap=True)


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
    from actrec.video.recognizer import is_video_model_file

    def action() -> None:
        if format != "onnx":
            raise ConfigError(f"unknown export format '{format}'; choose onnx")
        from actrec.export.onnx import export_onnx
        from actrec.io import load_dataset

        folder = Path(run) if Path(run).is_dir() else Path(run).parent
        if is_video_model_file(run):
            from actrec.io.clips import load_clips
            from actrec.video.export import export_clip_onnx
            from actrec.video.recognizer import VideoRecognizer

            recognizer = VideoRecognizer.load(run)
            clips = load_clips(data, label_names=recognizer.label_names) if data else None
            typer.echo(export_clip_onnx(recognizer, out or folder / "model.onnx", data=clips).summary().replace("windows", "clips"))
            return
        recognizer = Recognizer.load(run)
        samples = load_dataset(data) if data else None
        typer.echo(export_onnx(recognizer, out or folder / "model.onnx", data=samples).summary())

    run_cli(action)
