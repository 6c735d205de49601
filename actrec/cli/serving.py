"""The serve command: live recognition over WebSocket and HTTP for many clients."""

from __future__ import annotations

import typer

from actrec.cli import app, console, run_cli


@app.command()
def serve(
    runs: list[str] = typer.Argument(..., help="RUN folders or model files, NAME=PATH to name one"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    token: str = typer.Option(None, "--token", envvar="ACTREC_SERVE_TOKEN",
                              help="bearer token clients must send (default: $ACTREC_SERVE_TOKEN; none: open)"),
    max_sessions: int = typer.Option(256, "--max-sessions", help="streams open at once; more are refused"),
    queue_frames: int = typer.Option(16, "--queue-frames", help="frames a session may have waiting; older ones are dropped"),
    max_message_bytes: int = typer.Option(1 << 20, "--max-message-bytes", help="largest WebSocket message"),
    idle_timeout: float = typer.Option(30.0, "--idle-timeout", help="seconds of silence before a session is closed"),
    runtime: str = typer.Option("numpy", "--runtime", help="numpy | torch | onnx (per-session Streamer)"),
    workers: int = typer.Option(1, "--workers", help="processes on this port, each with its own sessions and metrics"),
) -> None:
    """Serve models: WebSocket /v1/stream/{model}, POST /v1/predict/{model}, /metrics, a status page at /."""
    def action() -> None:
        try:
            from actrec.serve import ServeSettings, run_server
        except ImportError as error:
            from actrec.errors import ConfigError

            raise ConfigError(f"serving needs the serve extra ({error.name} is missing): pip install 'actrec[serve]'") from None
        settings = ServeSettings(token=token, max_sessions=max_sessions, queue_frames=queue_frames,
                                 max_message_bytes=max_message_bytes, idle_timeout_s=idle_timeout, runtime=runtime)
        console.print(f"serving {', '.join(runs)} on http://{host}:{port} (status page at /)", highlight=False)
        run_server(runs, settings, host, port, workers)

    run_cli(action)
