"""One WebSocket connection's messages, moved between the socket and its `Session`.

The receive loop checks and queues frames; a worker task decides them in order and sends the
decisions; a timer closes a silent session. Frames already buffered are read before any is
decided, so a session that falls behind drops its oldest frames instead of answering late.
"""

from __future__ import annotations

import asyncio
import logging
import time as clock
from collections.abc import MutableMapping
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from actrec.errors import ActrecError, DataError
from actrec.serve.metrics import ServeMetrics
from actrec.serve.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    EndMessage,
    ErrorMessage,
    FrameMessage,
    OpenMessage,
    error_kind,
    error_text,
    parse_client_message,
)
from actrec.serve.sessions import (
    Session,
    SessionRegistry,
    SessionStreamers,
    frame_from_bytes,
    frame_from_json,
    session_rules,
)
from actrec.serve.settings import ServeSettings

log = logging.getLogger("actrec.serve")
CLOSE_INTERNAL = 1011


async def refuse(websocket: WebSocket, code: str, message: str, close_code: int) -> None:
    await websocket.send_text(ErrorMessage(code=code, message=message).model_dump_json())
    await websocket.close(close_code)


class Pump:
    """Moves one connection's messages: the receive loop checks and queues frames, a worker task
    decides them in order and sends the decisions. The worker yields after each frame, so while
    it is behind the receive loop keeps reading and the session queue drops the oldest frames."""

    def __init__(
        self,
        websocket: WebSocket,
        model: str,
        recognizer: Any,
        settings: ServeSettings,
        metrics: ServeMetrics,
        registry: SessionRegistry,
        streamers: SessionStreamers,
    ) -> None:
        self.websocket, self.model, self.recognizer = websocket, model, recognizer
        self.settings, self.metrics, self.registry, self.streamers = settings, metrics, registry, streamers
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

    async def open(self, rules: dict[str, Any], probabilities: bool) -> Session:
        streamer = self.streamers.new(self.model, session_rules(self.recognizer, rules))
        self.session = session = Session(self.model, streamer, self.settings.queue_frames, probabilities)
        self.registry.add(self.session)
        self.metrics.sessions.labels(self.model).inc()
        self.metrics.sessions_opened.labels(self.model).inc()
        await self.send(self.session.opened())
        return session

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.last_message = loop.time()
        receiving = asyncio.current_task()
        assert receiving is not None  # run() is awaited inside a task
        watchdog = asyncio.create_task(self.watch_idle(receiving))
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
            session = self.session if self.session is not None else await self.open({}, False)
            await self.send(session.finish())
            await self.websocket.close(CLOSE_NORMAL)
        except asyncio.CancelledError:
            if not self.idle:
                raise
            receiving.uncancel()
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

    async def handle(self, message: MutableMapping[str, Any]) -> str | None:
        """Check one message and queue its frame; returns "end", "close" or None."""
        text, data = message.get("text"), message.get("bytes")
        size = len(text) if text is not None else len(data or b"")
        if size > self.settings.max_message_bytes:
            await self.error(
                "too_big",
                f"message of {size} bytes is over the {self.settings.max_message_bytes}-byte "
                "limit; send one frame per message",
            )
            await self.websocket.close(CLOSE_TOO_BIG)
            return "close"
        received_at = clock.perf_counter()
        parsed: OpenMessage | FrameMessage | EndMessage | None = None
        refusal = None
        if text is not None:
            try:
                parsed = parse_client_message(text)
            except ValidationError as error:
                kind = error_kind(error)
                if kind == "open":
                    return await self.refuse_open(error_text(error, skip=1))
                if kind == "end":
                    await self.error("bad_message", f'end: {error_text(error, skip=1)}; send {{"type": "end"}}')
                    return None
                refusal = error_text(error, skip=1 if kind else 0)
            if isinstance(parsed, OpenMessage):
                return await self.handle_open(parsed)
            if isinstance(parsed, EndMessage):
                return "end"
        session = self.session if self.session is not None else await self.open({}, False)
        seq = session.new_seq()
        try:
            if refusal is not None:
                raise DataError(f"frame {seq}: {refusal}")
            if isinstance(parsed, FrameMessage):
                frame, time = frame_from_json(parsed, session.frame_shape, seq), parsed.t
            else:
                frame, time = frame_from_bytes(data or b"", session.frame_shape, seq)
            session.check_time(seq, time)
        except DataError as error:
            await self.error("bad_frame", str(error), seq)
            return None
        dropped = session.offer(seq, frame, time, received_at)
        if dropped:
            self.metrics.dropped.labels(self.model).inc(dropped)
        self.wake.set()
        return None

    async def handle_open(self, request: OpenMessage) -> str | None:
        if self.session is not None:
            await self.error("bad_message", "'open' must be the first message of a session")
            return None
        try:
            await self.open(request.rules.model_dump(exclude_unset=True), request.probabilities)
        except ActrecError as error:
            return await self.refuse_open(str(error))
        return None

    async def refuse_open(self, reason: str) -> str:
        """A bad `open`: say why, and close the connection (the session never started)."""
        await self.error("bad_open", f"open: {reason}")
        await self.websocket.close(CLOSE_POLICY)
        return "close"

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
