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
    server: str = typer.Option(None, "--server", help="stream to `actrec serve` at this URL; RUN is then the served model's name"),
    token: str = typer.Option(None, "--token", envvar="ACTREC_SERVE_TOKEN", help="bearer token for --server"),
) -> None:
    """Recognize actions frame by frame and emit start/end events."""
    from actrec.recognizer import Recognizer
    from actrec.stream.live import stream_source

    def action() -> None:
        model, remote = (None, None) if server is None else remote_session(server, run, token)
        shown: list[Any] = []

        def show(decision: Any) -> None:
            for event in decision.events:
                typer.echo(event.to_json())
                shown.append(event)

        report, streamer = stream_source(model or Recognizer.load(run), source, out=out, events=events, fast=fast,
                                         runtime=runtime, on_decision=show, streamer=remote)
        for event in report.events[len(shown):]:  # closed when the source ended
            typer.echo(event.to_json())
        console.print(f"{streamer.describe()}\n{report.frames} frames, {report.recognized} recognized, "
                      f"{report.dropped} dropped under load, {len(report.events)} events in {report.seconds:.1f} s",
                      highlight=False)

    run_cli(action)


def remote_session(server: str, name: str, token: str | None) -> tuple[Any, Any]:
    from actrec.client import RemoteStreamer, StreamClient, remote_model

    return remote_model(server, name, token), RemoteStreamer(StreamClient(server, name, token), server)


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
