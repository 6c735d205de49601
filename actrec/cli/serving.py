"""The serve command: live recognition over WebSocket and HTTP for many clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from actrec.cli import app, console, run_cli

if TYPE_CHECKING:
    from actrec.serve.settings import ServeSettings


@app.command()
def serve(
    runs: list[str] = typer.Argument(..., help="RUN folders or model files, NAME=PATH to name one"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    token: str = typer.Option(
        None,
        "--token",
        envvar="ACTREC_SERVE_TOKEN",
        help="bearer token clients must send (default: $ACTREC_SERVE_TOKEN; none: open)",
    ),
    max_sessions: int = typer.Option(256, "--max-sessions", help="streams open at once; more are refused"),
    queue_frames: int = typer.Option(
        16, "--queue-frames", help="frames a session may have waiting; older ones are dropped"
    ),
    max_message_bytes: int = typer.Option(1 << 20, "--max-message-bytes", help="largest WebSocket message"),
    idle_timeout: float = typer.Option(30.0, "--idle-timeout", help="seconds of silence before a session is closed"),
    header_timeout: float = typer.Option(
        10.0,
        "--header-timeout",
        help="seconds an HTTP connection has to send a whole request head; half-open ones are closed",
    ),
    max_array_bytes: int = typer.Option(
        256 << 20,
        "--max-array-bytes",
        help="what the arrays of one .npz predict body may declare, checked before inflating",
    ),
    runtime: str = typer.Option("numpy", "--runtime", help="numpy | torch | onnx (per-session Streamer)"),
    workers: int = typer.Option(1, "--workers", help="processes on this port, each with its own sessions and metrics"),
    ray: str = typer.Option(
        None,
        "--ray",
        help="Deploy on Ray Serve instead: the cluster's address, or auto (needs actrec[cluster]); --host/--port are its proxy's",
    ),
    replicas: int = typer.Option(
        1, "--replicas", help="with --ray: replicas of the app, each with its own sessions and metrics"
    ),
) -> None:
    """Serve models: WebSocket /v1/stream/{model}, POST /v1/predict/{model}, /metrics, a status page at /."""

    def action() -> None:
        from actrec.errors import ConfigError

        try:
            from actrec.serve import ServeSettings, load_models, run_server
        except ImportError as error:
            raise ConfigError(
                f"serving needs the serve extra ({error.name} is missing): pip install 'actrec[serve]'"
            ) from None
        settings = ServeSettings(
            token=token,
            max_sessions=max_sessions,
            queue_frames=queue_frames,
            max_message_bytes=max_message_bytes,
            idle_timeout_s=idle_timeout,
            runtime=runtime,
            max_array_bytes=max_array_bytes,
            max_array_elements=max_array_bytes // 4,
            header_timeout_s=header_timeout,
        )
        if ray is not None:
            return serve_on_ray(runs, settings, ray, replicas, host, port, workers)
        if replicas != 1:
            raise ConfigError("--replicas goes with --ray (Ray Serve); on this machine alone use --workers")
        settings.check()
        models = load_models(runs)  # a bad model file is refused before the server says it is serving
        console.print(f"serving {', '.join(runs)} on http://{host}:{port} (status page at /)", highlight=False)
        run_server(runs, settings, host, port, workers, models=models)

    run_cli(action)


def serve_on_ray(
    runs: list[str], settings: ServeSettings, address: str, replicas: int, host: str, port: int, workers: int
) -> None:
    """Deploy on Ray Serve, wait for Ctrl-C (or SIGTERM), then delete the deployment."""
    import signal
    import sys

    from actrec.errors import ConfigError

    if workers != 1:
        raise ConfigError("--workers runs processes on this machine; with --ray give --replicas instead")
    try:
        from actrec.serve.ray_serve import deploy, undeploy
    except ImportError as error:
        raise ConfigError(f"--ray needs Ray Serve ({error.name} is missing): pip install 'actrec[cluster]'") from None
    url = deploy(runs, settings, address, replicas, host, port)
    console.print(
        f"serving {', '.join(runs)} with {replicas} replicas on Ray Serve at {url} (status page at /); "
        "Ctrl-C deletes the deployment",
        highlight=False,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        undeploy(address)
