"""The same FastAPI app (`create_app`) as a Ray Serve deployment with N replicas behind Ray Serve's
HTTP proxy (`actrec serve RUN --ray ADDRESS --replicas N`; the optional extra `actrec[cluster]`).

Each replica is a Ray actor process that builds its own app from the model files' bytes (sent
once through the object store, so nodes need no shared file system) and has its own sessions,
session cap and metrics. The proxy routes each HTTP request to a replica; a WebSocket session is
one request to Serve, so the replica that accepted it serves every frame until it closes: its
Streamer's state never moves. A replica counts each open session against Serve's
`max_ongoing_requests`, so that is set above the app's own `max_sessions` (the app then refuses the
extra session with `server_full` instead of Serve queueing it silently). Every HTTP response carries
the replica's id in the `x-actrec-replica` header.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ray import serve

from actrec.serve.settings import ServeSettings

APP_NAME = "actrec"
REPLICA_HEADER = "x-actrec-replica"
HTTP_HEADROOM = 32  # requests a full replica still takes besides its sessions (/healthz, /metrics, predict)


@serve.deployment
@serve.ingress()
class ActrecService:
    """One replica: the models (name -> `.actrec` file bytes) and settings (ServeSettings as a dict)."""

    def __init__(self, model_files: dict[str, bytes], settings: dict[str, Any]) -> None:
        self.model_files = model_files
        self.settings = ServeSettings(**settings)

    def __serve_build_asgi_app__(self) -> Any:
        from actrec.io.model_file import MODEL_FILE
        from actrec.recognizers import load_recognizer
        from actrec.serve.app import create_app

        models = {}
        with tempfile.TemporaryDirectory() as folder:
            for name, content in self.model_files.items():
                path = Path(folder) / name / MODEL_FILE
                path.parent.mkdir()
                path.write_bytes(content)
                models[name] = load_recognizer(path)
        app = create_app(models, self.settings)
        replica = serve.get_replica_context().replica_id.unique_id

        @app.middleware("http")
        async def tag_replica(request: Any, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers[REPLICA_HEADER] = replica
            return response

        return app


def deploy(
    specs: list[str], settings: ServeSettings, address: str, replicas: int, host: str = "127.0.0.1", port: int = 8000
) -> str:
    """Deploy the models `specs` name (see `load_models`) on the Ray cluster at `address` with
    `replicas` replicas; returns the proxy's base URL once every replica answers."""
    from actrec.cluster import connect
    from actrec.errors import ConfigError
    from actrec.io.model_file import MODEL_FILE
    from actrec.serve.app import load_models, model_paths
    from actrec.serve.connections import HEADER_TIMEOUT_ENV

    if replicas < 1:
        raise ConfigError(f"--replicas {replicas}: use 1 or more")
    settings.check()
    load_models(specs)  # a bad RUN fails here, as one line, before Ray is touched
    paths = model_paths(specs)
    files = {name: (path / MODEL_FILE if path.is_dir() else path).read_bytes() for name, path in paths.items()}
    connect(address)
    # Serve's proxy closes half-open connections as `actrec serve` does; the controller's
    # environment reaches the proxies it starts (a Serve already running keeps its own proxies).
    proxy_env = {
        "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH": "actrec.serve.connections.install_in_ray_proxy",
        HEADER_TIMEOUT_ENV: str(settings.header_timeout_s),
    }
    serve.start(http_options={"host": host, "port": port}, controller_options={"runtime_env": {"env_vars": proxy_env}})
    # ray types @serve.ingress() as returning the class itself; @serve.deployment made it a Deployment
    deployment = ActrecService.options(  # type: ignore[attr-defined]
        num_replicas=replicas,
        max_ongoing_requests=settings.max_sessions + HTTP_HEADROOM,
    )
    serve.run(deployment.bind(files, asdict(settings)), name=APP_NAME, route_prefix="/")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def undeploy(address: str) -> None:
    """Delete the app from the cluster at `address`; Serve itself (its controller and proxies)
    stops too when it serves nothing else. Connecting first matters: Serve's calls without a
    connection would start a new local Ray instance instead."""
    from actrec.cluster import connect

    connect(address)
    serve.delete(APP_NAME)
    if not serve.status().applications:
        serve.shutdown()
