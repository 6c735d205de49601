"""The FastAPI app: a thin shell that translates messages between sockets and `serve.sessions`.

`create_app(models, settings)` builds the app from loaded recognizers, so tests run it in-process
and `actrec serve` / `bench/serve.py` run it under uvicorn on a port. Per-frame work runs on the
event loop (a GRU state bank step is tens of microseconds); whole-sequence predictions run in a
worker thread so they never stall the streams.

Overload is explicit: each session holds at most `queue_frames` waiting frames and drops the
oldest (the client sees the running `dropped` count in every decision), the server refuses
sessions past `max_sessions` with a `server_full` error and close code 1013, and messages above
`max_message_bytes` are refused.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import tempfile
import time as clock
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from actrec.errors import ActrecError, ConfigError, DataError
from actrec.serve.metrics import ServeMetrics
from actrec.serve.protocol import (
    CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_TRY_LATER, ErrorMessage,
    FrameMessage, ModelInfo, OpenMessage, PredictRequest, PredictResponse,
)
from actrec.serve.sessions import Session, SessionRegistry, frame_from_bytes, frame_from_json, session_rules
from actrec.stream.recurrent import incremental_blocker

log = logging.getLogger("actrec.serve")
TOKEN_ENV = "ACTREC_SERVE_TOKEN"
CONFIG_ENV = "ACTREC_SERVE_CONFIG"  # models and settings for `--workers` processes
CLOSE_INTERNAL = 1011


@dataclass
class ServeSettings:
    """Limits and options of one server.

    token: bearer token every `/v1/*` and `/metrics` request and stream must carry (None: open).
    runtime: the Streamer runtime per session; "numpy" (the NumPy state bank, torch for window
      models) builds a session in about a millisecond, where "onnx" exports a graph per session.
    """

    token: str | None = None
    max_sessions: int = 256
    queue_frames: int = 16  # about half a second at 30 fps: older frames are stale for live use
    max_message_bytes: int = 1 << 20
    max_body_bytes: int = 64 << 20
    idle_timeout_s: float = 30.0
    runtime: str = "numpy"

    def check(self) -> None:
        for name in ("max_sessions", "queue_frames", "max_message_bytes", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.idle_timeout_s > 0:
            raise ConfigError(f"idle_timeout_s must be positive, got {self.idle_timeout_s}")


def load_models(specs: list[str]) -> dict[str, Any]:
    """`RUN`, `model.actrec` or `NAME=PATH` -> {name: Recognizer}; the name is the RUN folder's
    (or the file's stem when it is not `model.actrec`)."""
    from actrec.recognizer import MODEL_FILE, Recognizer

    models: dict[str, Any] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            path = spec
            file = Path(spec)
            name = file.resolve().parent.name if file.name == MODEL_FILE else file.stem if file.suffix else file.resolve().name
        if name in models:
            raise ConfigError(f"two models are named '{name}'; name them apart with NAME=PATH")
        models[name] = Recognizer.load(path)
    if not models:
        raise ConfigError("give at least one RUN folder or model file to serve")
    return models


def model_info(name: str, recognizer: Any) -> ModelInfo:
    blocker = incremental_blocker(recognizer.network)
    return ModelInfo(
        name=name, label_names=list(recognizer.label_names), window_length=recognizer.window_length,
        sample_rate_hz=recognizer.sample_rate_hz, frame_shape=list(recognizer.frame_shape),
        feature_names=recognizer.feature_names, schema_name=recognizer.schema,
        schema_definition=recognizer.schema_definition,
        streaming_mode="incremental" if blocker is None else "window", default_rules=asdict(session_rules(recognizer, {})),
    )


def create_app(models: dict[str, Any], settings: ServeSettings | None = None) -> FastAPI:
    """The service over `models` ({name: fitted Recognizer})."""
    settings = settings or ServeSettings()
    settings.check()
    if settings.token is None and os.environ.get(TOKEN_ENV):
        settings = replace(settings, token=os.environ[TOKEN_ENV])
    infos = {name: model_info(name, recognizer) for name, recognizer in models.items()}
    metrics = ServeMetrics()
    registry = SessionRegistry(settings.max_sessions)
    app = FastAPI(title="actrec", summary="Live action recognition")

    def authorized(header: str | None) -> bool:
        if settings.token is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        # compare_digest on bytes of both: constant time whatever the given token holds
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), settings.token.encode())

    def require_token(request: Request) -> None:
        if not authorized(request.headers.get("authorization")):
            metrics.errors.labels("unauthorized").inc()
            raise HTTPException(401, "missing or wrong bearer token; send 'Authorization: Bearer TOKEN'",
                                headers={"WWW-Authenticate": "Bearer"})

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
        body = await read_body(request, settings.max_body_bytes, metrics)
        try:
            is_json = request.headers.get("content-type", "").startswith("application/json")
            dataset = await run_in_threadpool(json_dataset if is_json else npz_dataset, body, recognizer)
            proba = await run_in_threadpool(recognizer.predict_proba, dataset)
        except ActrecError as error:
            metrics.errors.labels("bad_request").inc()
            raise HTTPException(422, str(error)) from None
        metrics.predictions.labels(model).inc(len(proba))
        table = predictions_table(dataset.ids, proba, list(recognizer.label_names))
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
            return await refuse(websocket, "unknown_model", f"no model '{model}'; this server has: {', '.join(models)}",
                                CLOSE_POLICY)
        if not registry.admit():
            metrics.refused.labels("server_full").inc()
            return await refuse(websocket, "server_full", f"the server has {registry.max_sessions} sessions open, its "
                                "cap; try again later or another server", CLOSE_TRY_LATER)
        pump = Pump(websocket, model, models[model], settings, metrics, registry)
        try:
            await pump.run()
        finally:
            registry.release(pump.session)
            if pump.session is not None:
                metrics.sessions.labels(model).dec()

    return app


async def refuse(websocket: WebSocket, code: str, message: str, close_code: int) -> None:
    await websocket.send_text(ErrorMessage(code=code, message=message).model_dump_json())
    await websocket.close(close_code)


async def read_body(request: Request, limit: int, metrics: ServeMetrics) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        metrics.errors.labels("too_big").inc()
        raise HTTPException(413, f"body of {declared} bytes is over the {limit}-byte limit; send fewer sequences per request")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            metrics.errors.labels("too_big").inc()
            raise HTTPException(413, f"body is over the {limit}-byte limit; send fewer sequences per request")
    return bytes(body)


def json_dataset(body: bytes, recognizer: Any) -> Any:
    """A `PredictRequest` -> SequenceDataset padded to the longest sequence."""
    from actrec.data.dataset import SequenceDataset

    try:
        request = PredictRequest.model_validate_json(body)
    except ValidationError as error:
        raise DataError(f"request body: {error.errors()[0]['msg']} at {error.errors()[0]['loc']}; send "
                        '{"sequences": [[frame, ...], ...], "ids": [...]}') from None
    if not request.sequences:
        raise DataError("request body: 'sequences' is empty; send at least one sequence")
    frame_shape = tuple(recognizer.frame_shape)
    arrays = []
    for index, sequence in enumerate(request.sequences):
        try:
            values = np.asarray(sequence, dtype=np.float32)
        except ValueError:
            raise DataError(f"sequence {index}: ragged; every frame needs {list(frame_shape)} values") from None
        if values.ndim < 2 or len(values) == 0:
            raise DataError(f"sequence {index}: needs at least one frame of {list(frame_shape)} values")
        if values.shape[1:] != frame_shape and values[0].size == int(np.prod(frame_shape)):
            values = values.reshape((len(values),) + frame_shape)
        arrays.append(values)
    ids = request.ids if request.ids is not None else [str(index) for index in range(len(arrays))]
    if len(ids) != len(arrays):
        raise DataError(f"request body: {len(ids)} ids for {len(arrays)} sequences; give one id per sequence")
    shapes = {values.shape[1:] for values in arrays}
    if len(shapes) > 1:
        raise DataError(f"sequences have different frame shapes {sorted(map(list, shapes))}; the model takes "
                        f"{list(frame_shape)}")
    lengths = np.array([len(values) for values in arrays], dtype=np.int64)
    X = np.zeros((len(arrays), int(lengths.max())) + arrays[0].shape[1:], np.float32)
    for index, values in enumerate(arrays):
        X[index, : len(values)] = values
    return SequenceDataset(X=X, lengths=lengths, ids=np.array(ids), schema=recognizer.schema, source="request body")


def npz_dataset(body: bytes, recognizer: Any) -> Any:
    """An `.npz` body (the layout `actrec predict --data` reads) -> SequenceDataset."""
    from actrec.io.npz import load_npz

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "request.npz"
        path.write_bytes(body)
        try:
            dataset = load_npz(path, label_names=recognizer.label_names)
        except DataError as error:  # name the body, not the temporary file
            raise DataError(str(error).replace(str(path), "request body (.npz; send JSON as application/json)")) from None
    dataset.source = "request body"
    return dataset


class Pump:
    """Moves one connection's messages: the receive loop checks and queues frames, a worker task
    decides them in order and sends the decisions. The worker yields after each frame, so while
    it is behind the receive loop keeps reading and the session queue drops the oldest frames."""

    def __init__(self, websocket: WebSocket, model: str, recognizer: Any, settings: ServeSettings,
                 metrics: ServeMetrics, registry: SessionRegistry) -> None:
        self.websocket, self.model, self.recognizer = websocket, model, recognizer
        self.settings, self.metrics, self.registry = settings, metrics, registry
        self.session: Session | None = None
        self.wake = asyncio.Event()
        self.ending = False
        self.idle = False  # set by `watch_idle` when the client went silent
        self.last_message = 0.0
        self.send_lock = asyncio.Lock()

    async def send(self, message: Any) -> None:
        async with self.send_lock:
            await self.websocket.send_text(message.model_dump_json())

    async def error(self, code: str, message: str, seq: int | None = None) -> None:
        self.metrics.errors.labels(code).inc()
        if self.session is not None:
            self.session.errors += 1
        await self.send(ErrorMessage(code=code, message=message, seq=seq))

    async def open(self, rules: dict[str, Any], probabilities: bool) -> None:
        self.session = Session(self.model, self.recognizer, session_rules(self.recognizer, rules), self.settings.runtime,
                               self.settings.queue_frames, probabilities)
        self.registry.add(self.session)
        self.metrics.sessions.labels(self.model).inc()
        self.metrics.sessions_opened.labels(self.model).inc()
        await self.send(self.session.opened())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.last_message = loop.time()
        watchdog = asyncio.create_task(self.watch_idle(asyncio.current_task()))
        worker: asyncio.Task | None = None
        try:
            while True:
                message = await self.websocket.receive()
                self.last_message = loop.time()
                if message["type"] == "websocket.disconnect":
                    return
                outcome = await self.handle(message)
                if outcome == "close":
                    return
                if self.session is not None and worker is None:
                    worker = asyncio.create_task(self.decide_loop())
                if outcome == "end":
                    break
            watchdog.cancel()
            self.ending = True
            self.wake.set()
            if worker is not None:
                await worker
            if self.session is None:
                await self.open({}, False)
            await self.send(self.session.finish())
            await self.websocket.close(CLOSE_NORMAL)
        except asyncio.CancelledError:
            if not self.idle:
                raise
            asyncio.current_task().uncancel()
            await self.error("idle_timeout", f"no message for {self.settings.idle_timeout_s:g} s; session closed")
            await self.websocket.close(CLOSE_GOING_AWAY)
        except WebSocketDisconnect:
            return
        finally:
            watchdog.cancel()
            if worker is not None and not worker.done():
                worker.cancel()

    async def watch_idle(self, receiving: asyncio.Task) -> None:
        """Cancel the receive loop once no message came for `idle_timeout_s` (one timer per
        session instead of a timeout task per message)."""
        loop = asyncio.get_running_loop()
        while (remaining := self.last_message + self.settings.idle_timeout_s - loop.time()) > 0:
            await asyncio.sleep(remaining)
        self.idle = True
        receiving.cancel()

    async def handle(self, message: dict[str, Any]) -> str | None:
        """Check one message and queue its frame; returns "end", "close" or None."""
        text, data = message.get("text"), message.get("bytes")
        size = len(text) if text is not None else len(data or b"")
        if size > self.settings.max_message_bytes:
            await self.error("too_big", f"message of {size} bytes is over the {self.settings.max_message_bytes}-byte "
                             "limit; send one frame per message")
            await self.websocket.close(CLOSE_TOO_BIG)
            return "close"
        received_at = clock.perf_counter()
        if text is not None:
            try:
                payload = json.loads(text)
                kind = payload.get("type", "frame") if isinstance(payload, dict) else None
            except ValueError:
                kind = None
            if kind == "open":
                return await self.handle_open(payload)
            if kind == "end":
                return "end"
        if self.session is None:
            await self.open({}, False)
        session = self.session
        seq = session.new_seq()
        try:
            if text is None:
                frame, time = frame_from_bytes(data or b"", session.frame_shape, seq)
            elif kind != "frame":
                raise DataError(f"frame {seq}: not a JSON object with 'x' (or 'type' open/end); see actrec.serve.protocol")
            else:
                try:
                    parsed = FrameMessage.model_validate(payload)
                except ValidationError as error:
                    first = error.errors()[0]
                    raise DataError(f"frame {seq}: {first['msg']} at {'.'.join(map(str, first['loc']))}") from None
                frame, time = frame_from_json(parsed, session.frame_shape, seq), parsed.t
        except DataError as error:
            await self.error("bad_frame", str(error), seq)
            return None
        dropped = session.offer(seq, frame, time, received_at)
        if dropped:
            self.metrics.dropped.labels(self.model).inc(dropped)
        self.wake.set()
        return None

    async def handle_open(self, payload: dict[str, Any]) -> str | None:
        if self.session is not None:
            await self.error("bad_message", "'open' must be the first message of a session")
            return None
        try:
            request = OpenMessage.model_validate(payload)
            await self.open(request.rules, request.probabilities)
        except (ValidationError, ActrecError) as error:
            text = str(error) if isinstance(error, ActrecError) else error.errors()[0]["msg"]
            await self.error("bad_open", f"open: {text}")
            await self.websocket.close(CLOSE_POLICY)
            return "close"
        return None

    async def decide_loop(self) -> None:
        try:
            await self._decide_loop()
        except WebSocketDisconnect:  # the client left; the receive loop ends the session
            return

    async def _decide_loop(self) -> None:
        session = self.session
        assert session is not None
        frames, latency = self.metrics.frames.labels(self.model), self.metrics.latency
        while True:
            await self.wake.wait()
            self.wake.clear()
            while session.queue:
                seq, frame, time, received_at = session.take()
                try:
                    decision = session.decide(seq, frame, time)
                except ActrecError as error:
                    await self.error("bad_frame", str(error), seq)
                    continue
                except Exception:  # a bug must end this session only, with a word to its client
                    log.exception("session %s: frame %d failed", session.id, seq)
                    await self.error("internal", f"frame {seq}: internal error; the session is closed")
                    await self.websocket.close(CLOSE_INTERNAL)
                    return
                await self.send(decision)
                frames.inc()
                latency.observe(clock.perf_counter() - received_at)
                if session.queue:
                    await asyncio.sleep(0)  # behind: let the receive loop read (and drop the oldest)
            if self.ending:
                return


def app_from_environment() -> FastAPI:
    """The uvicorn factory behind `--workers N`: each worker process loads the models itself, from
    the model specs and settings the parent put in `ACTREC_SERVE_CONFIG` (JSON)."""
    config = json.loads(os.environ[CONFIG_ENV])
    return create_app(load_models(config["models"]), ServeSettings(**config["settings"]))


def run_server(specs: list[str], settings: ServeSettings, host: str, port: int, workers: int = 1,
               log_level: str = "info") -> None:
    """Serve the models `specs` name (see `load_models`) with uvicorn until interrupted.

    workers > 1 runs that many processes on one port (the kernel spreads connections; a session
    stays in the process that accepted it); each has its own session cap, metrics and page.
    The protocol-level limit is a multiple of `max_message_bytes`, so a moderately oversized
    message still gets the app's readable error. Per-message deflate is off: it costs more CPU
    per frame than deciding it."""
    import uvicorn

    settings.check()
    models = load_models(specs)  # in the parent too: a bad RUN fails here, as one line
    options: dict[str, Any] = dict(host=host, port=port, log_level=log_level, ws_per_message_deflate=False,
                                   ws_max_size=4 * settings.max_message_bytes)
    if workers <= 1:
        uvicorn.run(create_app(models, settings), **options)
        return
    os.environ[CONFIG_ENV] = json.dumps({"models": specs, "settings": asdict(settings)})
    uvicorn.run("actrec.serve.app:app_from_environment", factory=True, workers=workers, **options)
