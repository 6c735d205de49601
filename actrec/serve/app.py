"""The FastAPI app: routes that translate requests for `pump` (streams), `bodies` (predict) and
`sessions`; `run_server` runs it under uvicorn.

`create_app(models, settings)` builds the app from loaded recognizers, so tests run it in-process
and `actrec serve` / `bench/serve.py` run it under uvicorn on a port. Per-frame work runs on the
event loop (a GRU state bank step is tens of microseconds); whole-sequence predictions run in a
worker thread so they never stall the streams.

Pauses are kept short: once the app has started (models loaded, uvicorn's modules imported, each
model's stream built and its compiled code run once, `SessionStreamers.warm`), the heap it holds is
moved out of the garbage collector's sight (`freeze_heap`). Left in sight, the
half a million objects of torch and the models made each full collection stop the event loop for
0.3-0.6 s, long enough to fill every session's queue and drop frames.

Overload is explicit: each session holds at most `queue_frames` waiting frames and drops the
oldest (the client sees the running `dropped` count in every decision), the server refuses
sessions past `max_sessions` with a `server_full` error and close code 1013, and messages above
`max_message_bytes` are refused.
"""

from __future__ import annotations

import gc
import hmac
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from actrec.errors import ActrecError, ConfigError
from actrec.serve.bodies import body_proba, read_body
from actrec.serve.metrics import ServeMetrics
from actrec.serve.protocol import CLOSE_POLICY, CLOSE_TRY_LATER, ModelInfo, PredictResponse
from actrec.serve.pump import Pump, refuse
from actrec.serve.sessions import SessionRegistry, SessionStreamers, session_rules
from actrec.serve.settings import ServeSettings
from actrec.stream.recurrent import incremental_blocker

TOKEN_ENV = "ACTREC_SERVE_TOKEN"
CONFIG_ENV = "ACTREC_SERVE_CONFIG"  # models and settings for `--workers` processes


def model_paths(specs: list[str]) -> dict[str, Path]:
    """`RUN`, `model.actrec` or `NAME=PATH` -> {name: path as given}; the name is the RUN folder's
    (or the file's stem when it is not `model.actrec`)."""
    from actrec.io.model_file import MODEL_FILE

    paths: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            path = spec
            file = Path(spec)
            name = (
                file.resolve().parent.name
                if file.name == MODEL_FILE
                else file.stem
                if file.suffix
                else file.resolve().name
            )
        if name in paths:
            raise ConfigError(f"two models are named '{name}'; name them apart with NAME=PATH")
        paths[name] = Path(path)
    if not paths:
        raise ConfigError("give at least one RUN folder or model file to serve")
    return paths


def load_models(specs: list[str]) -> dict[str, Any]:
    """{name: recognizer} of the models `specs` name (see `model_paths`), sequence or clip models
    alike (`load_recognizer` reads the kind from the file)."""
    from actrec.recognizers import load_recognizer

    return {name: load_recognizer(path) for name, path in model_paths(specs).items()}


def model_info(name: str, recognizer: Any) -> ModelInfo:
    """What `/v1/models` says of one model; a model whose input is video files is not streamed
    frame by frame: it predicts one posted video."""
    frames = recognizer.input_medium == "frames"
    blocker = incremental_blocker(recognizer.network) if frames else None
    return ModelInfo(
        name=name,
        kind=recognizer.kind,
        label_names=list(recognizer.label_names),
        window_length=recognizer.window_length,
        sample_rate_hz=recognizer.sample_rate_hz,
        frame_shape=list(recognizer.frame_shape),
        feature_names=recognizer.feature_names,
        schema_name=recognizer.schema,
        schema_definition=recognizer.schema_definition,
        streaming_mode=("incremental" if blocker is None else "window")
        if frames
        else f"none: POST one video file to /v1/predict/{name}",
        default_rules=asdict(session_rules(recognizer, {})) if frames else {},
    )


def freeze_heap() -> int:
    """Collect what is garbage now, then move every object still alive into the permanent
    generation (`gc.freeze`), which later collections do not scan: a full collection then looks at
    what serving allocated since, not at the models and libraries. Returns how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def create_app(models: dict[str, Any], settings: ServeSettings | None = None) -> FastAPI:
    """The service over `models` ({name: fitted sequence or clip recognizer}). A clip model
    predicts one posted video per request; its WebSocket stream is refused in one line."""
    settings = settings or ServeSettings()
    settings.check()
    if settings.token is None and os.environ.get(TOKEN_ENV):
        settings = replace(settings, token=os.environ[TOKEN_ENV])
    infos = {name: model_info(name, recognizer) for name, recognizer in models.items()}
    metrics = ServeMetrics()
    registry = SessionRegistry(settings.max_sessions)
    streamers = SessionStreamers(models, settings.runtime)

    @asynccontextmanager
    async def warmed_and_frozen(app: FastAPI) -> AsyncIterator[None]:
        """At startup: what the first session of each model would build and compile, then the heap frozen."""
        streamers.warm()
        freeze_heap()
        yield

    app = FastAPI(title="actrec", summary="Live action recognition", lifespan=warmed_and_frozen)
    app.state.streamers = streamers

    def authorized(header: str | None) -> bool:
        if settings.token is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        # compare_digest on bytes of both: constant time whatever the given token holds
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), settings.token.encode())

    def require_token(request: Request) -> None:
        if not authorized(request.headers.get("authorization")):
            metrics.errors.labels("unauthorized").inc()
            raise HTTPException(
                401,
                "missing or wrong bearer token; send 'Authorization: Bearer TOKEN'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def recognizer_for(model: str) -> Any:
        if model not in models:
            metrics.errors.labels("unknown_model").inc()
            raise HTTPException(404, f"no model '{model}'; this server has: {', '.join(models)}")
        return models[model]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return resources.files("actrec.serve").joinpath("page.html").read_text()

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        # pid: which worker answered, when `--workers` runs several processes on one port
        return {"status": "ok", "models": list(models), "sessions": len(registry.sessions), "pid": os.getpid()}

    @app.get("/metrics", dependencies=[Depends(require_token)])
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", dependencies=[Depends(require_token)])
    def list_models() -> list[ModelInfo]:
        return list(infos.values())

    @app.get("/v1/sessions", dependencies=[Depends(require_token)])
    def list_sessions() -> list[dict[str, Any]]:
        return [session.summary() for session in list(registry.sessions.values())]

    @app.post("/v1/predict/{model}", dependencies=[Depends(require_token)], response_model=None)
    async def predict(model: str, request: Request) -> PredictResponse | PlainTextResponse:
        from actrec.io.predictions import predictions_table

        recognizer = recognizer_for(model)
        body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s, metrics)
        content_type = request.headers.get("content-type", "")
        try:
            ids, proba = await run_in_threadpool(body_proba, body, content_type, recognizer, settings.array_limits())
        except ActrecError as error:
            metrics.errors.labels("bad_request").inc()
            raise HTTPException(422, str(error)) from None
        metrics.predictions.labels(model).inc(len(proba))
        table = predictions_table(ids, proba, list(recognizer.label_names))
        if "text/csv" in request.headers.get("accept", ""):
            return PlainTextResponse(table.to_csv(index=False), media_type="text/csv")
        return PredictResponse(columns=list(table.columns), rows=table.astype(object).values.tolist())

    @app.websocket("/v1/stream/{model}")
    async def stream(websocket: WebSocket, model: str) -> None:
        await websocket.accept()
        if not authorized(websocket.headers.get("authorization")):
            metrics.refused.labels("unauthorized").inc()
            return await refuse(websocket, "unauthorized", "missing or wrong bearer token", CLOSE_POLICY)
        if model not in models:
            metrics.errors.labels("unknown_model").inc()
            return await refuse(
                websocket, "unknown_model", f"no model '{model}'; this server has: {', '.join(models)}", CLOSE_POLICY
            )
        if models[model].input_medium != "frames":
            metrics.errors.labels("not_streamable").inc()
            return await refuse(
                websocket,
                "not_streamable",
                f"'{model}' is a clip model: POST one video file to "
                f"/v1/predict/{model}, or stream a video with 'actrec stream RUN --source VIDEO'",
                CLOSE_POLICY,
            )
        if not registry.admit():
            metrics.refused.labels("server_full").inc()
            return await refuse(
                websocket,
                "server_full",
                f"the server has {registry.max_sessions} sessions open, its cap; try again later or another server",
                CLOSE_TRY_LATER,
            )
        pump = Pump(websocket, model, models[model], settings, metrics, registry, streamers)
        try:
            await pump.run()
        finally:
            registry.release(pump.session)
            if pump.session is not None:
                metrics.sessions.labels(model).dec()

    return app


def app_from_environment() -> FastAPI:
    """The uvicorn factory behind `--workers N`: each worker process loads the models itself, from
    the model specs and settings the parent put in `ACTREC_SERVE_CONFIG` (JSON)."""
    config = json.loads(os.environ[CONFIG_ENV])
    return create_app(load_models(config["models"]), ServeSettings(**config["settings"]))


def server_options(settings: ServeSettings) -> dict[str, Any]:
    """uvicorn's options for `settings`: the WebSocket frame limit, no per-message deflate, and
    HTTP connections closed when a request head does not arrive within `header_timeout_s`."""
    from actrec.serve.connections import head_timeout_protocol  # uvicorn: not needed to build the app

    return dict(
        ws_per_message_deflate=False,
        ws_max_size=4 * settings.max_message_bytes,
        http=head_timeout_protocol(settings.header_timeout_s),
    )


def run_server(
    specs: list[str],
    settings: ServeSettings,
    host: str,
    port: int,
    workers: int = 1,
    log_level: str = "info",
    models: dict[str, Any] | None = None,
) -> None:
    """Serve the models `specs` name (see `load_models`) with uvicorn until interrupted.

    workers > 1 runs that many processes on one port (the kernel spreads connections; a session
    stays in the process that accepted it); each has its own session cap, metrics and page.
    The protocol-level limit is a multiple of `max_message_bytes`, so a moderately oversized
    message still gets the app's readable error. Per-message deflate is off: it costs more CPU
    per frame than deciding it. See `server_options`. `models`: `load_models(specs)` done
    already (the command loads them before it says it is serving)."""
    import uvicorn

    settings.check()
    models = (
        models if models is not None else load_models(specs)
    )  # in the parent too: a bad RUN fails here, as one line
    options = server_options(settings) | dict(host=host, port=port, log_level=log_level)
    if workers <= 1:
        uvicorn.run(create_app(models, settings), **options)
        return
    os.environ[CONFIG_ENV] = json.dumps({"models": specs, "settings": asdict(settings)})
    uvicorn.run("actrec.serve.app:app_from_environment", factory=True, workers=workers, **options)
