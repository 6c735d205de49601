"""Server-side sessions: one `Streamer` per connection, a bounded drop-oldest queue in front of it,
and the counters and recent timeline the status page shows.

Everything here is synchronous and socket-free; `app.py` pumps messages between a WebSocket and
a `Session`. Frames are checked here, where they enter, so a bad frame becomes one `DataError`
line for the client and never reaches the Streamer.
"""

from __future__ import annotations

import logging
import math
import time as clock
import uuid
from collections import deque
from dataclasses import fields
from typing import Any, Literal

import numpy as np

from actrec.errors import ActrecError, ConfigError, DataError
from actrec.serve.protocol import ClosedMessage, DecisionMessage, EventOut, FrameMessage, OpenedMessage
from actrec.stream.decisions import Decision, DecisionRules
from actrec.stream.engine import DEFAULT_SAMPLE_RATE_HZ, Streamer
from actrec.stream.events import Event

log = logging.getLogger("actrec.serve")
TIMELINE_RUNS = 120  # label runs kept per session for the status page
RECENT_EVENTS = 20


def session_rules(recognizer: Any, overrides: dict[str, Any]) -> DecisionRules:
    """The model's default rules (those saved in it, fitted at training time or by `stream
    --calibrate`, over the window-scaled defaults, as `Streamer` takes them) with a client's
    `overrides`; ConfigError names a bad field."""
    known = {field.name for field in fields(DecisionRules)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"rules field '{unknown[0]}' does not exist; fields are: {', '.join(sorted(known))}")
    rate = float(recognizer.sample_rate_hz or DEFAULT_SAMPLE_RATE_HZ)
    try:
        saved = getattr(recognizer, "decision_rules", None) or {}
        rules = DecisionRules.for_model(recognizer.window_length, rate, **(saved | overrides))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"rules: {error}") from None
    rules.check(list(recognizer.label_names))
    return rules


FLOAT32_MAX = float(np.finfo(np.float32).max)


def frame_from_json(message: FrameMessage, frame_shape: tuple[int, ...], seq: int) -> np.ndarray | None:
    """float32 `frame_shape` from a JSON frame (None for `"x": null`); DataError on a bad size.

    The values (finite: the message was checked) are read as float64, which holds any JSON
    number, and turned to float32 only once none is beyond float32's range; a NaN (a null value)
    or a value past that range goes the careful way, where the value past it is refused."""
    if message.x is None:
        return None
    try:
        values = np.asarray(message.x, dtype=np.float64)  # None -> NaN
    except ValueError:
        raise DataError(f"frame {seq}: 'x' is ragged; send {list(frame_shape)} values") from None
    if np.abs(values).max(initial=0.0) <= FLOAT32_MAX:
        return _shaped(values.astype(np.float32), frame_shape, seq, finite=True)
    with np.errstate(over="ignore"):  # a number beyond float32 becomes inf, refused by `_shaped`
        return _shaped(values.astype(np.float32), frame_shape, seq)


def frame_from_bytes(data: bytes, frame_shape: tuple[int, ...], seq: int) -> tuple[np.ndarray, float | None]:
    """A binary frame: float32 values, optionally preceded by the time; returns (frame, time)."""
    size = math.prod(frame_shape)
    if len(data) not in (4 * size, 4 * (size + 1)):
        raise DataError(
            f"frame {seq}: {len(data)} bytes; a binary frame is {size} float32 values "
            f"({4 * size} bytes), or the time and then them ({4 * (size + 1)} bytes)"
        )
    values = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if values.size == size:
        return _shaped(values, frame_shape, seq), None
    time = float(values[0])
    if not math.isfinite(time):
        raise DataError(f"frame {seq}: the time is {time}; send a finite number of seconds")
    return _shaped(values[1:], frame_shape, seq), time


def _shaped(values: np.ndarray, frame_shape: tuple[int, ...], seq: int, finite: bool = False) -> np.ndarray:
    """`values` as `frame_shape` (a flat list of the same size is reshaped); DataError on another
    size, or on an infinite value unless `finite` says none can be."""
    if values.shape != frame_shape:
        if values.ndim != 1 or values.size != math.prod(frame_shape):
            raise DataError(
                f"frame {seq}: 'x' has shape {list(values.shape)} but the model takes "
                f"{list(frame_shape)}; send the features (or joints) it was trained on"
            )
        values = values.reshape(frame_shape)
    if not finite and np.isinf(values).any():
        raise DataError(
            f"frame {seq}: 'x' holds an infinite value or one beyond float32's range; send finite "
            "numbers (null for missing)"
        )
    return values


def event_out(event: Event) -> EventOut:
    return EventOut(
        type=event.type,
        label=event.label,
        time=round(float(event.time), 6),
        frame=event.frame,
        confidence=round(float(event.confidence), 6),
    )


class Session:
    """One client's stream: `offer` queues a frame (dropping the oldest when `queue_frames` wait),
    `take` + `decide` run the oldest through the Streamer, `finish` closes open events."""

    def __init__(self, model_name: str, streamer: Streamer, queue_frames: int, probabilities: bool = False) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.model_name = model_name
        self.streamer = streamer
        recognizer = streamer.recognizer
        self.frame_shape = tuple(recognizer.frame_shape) or (len(recognizer.feature_names or []),)
        self.queue_frames = queue_frames
        self.send_probabilities = probabilities
        self.queue: deque[tuple[int, np.ndarray | None, float | None, float]] = deque()
        self.received = 0  # frame messages received, refused ones included
        self.last_time: float | None = None  # the latest time a client gave, so none goes back before it
        self.dropped = 0
        self.errors = 0
        self.opened_at = clock.time()
        self.label = streamer.rules.unknown_label
        self.confidence = 0.0
        self.timeline: deque[list[Any]] = deque(maxlen=TIMELINE_RUNS)  # [label, first frame, last frame]
        self.events: deque[EventOut] = deque(maxlen=RECENT_EVENTS)

    def opened(self) -> OpenedMessage:
        streamer = self.streamer
        return OpenedMessage(
            session=self.id,
            model=self.model_name,
            frame_shape=list(self.frame_shape),
            label_names=streamer.label_names,
            sample_rate_hz=streamer.sample_rate_hz,
            # a shallow copy: `asdict`'s deep one cost ~10x more, for values that are only written out
            rules={field.name: getattr(streamer.rules, field.name) for field in fields(DecisionRules)},
            queue_frames=self.queue_frames,
        )

    def new_seq(self) -> int:
        """Number the next frame message (a refused one too, so each gets exactly one answer)."""
        self.received += 1
        return self.received - 1

    def check_time(self, seq: int, time: float | None) -> None:
        """Times a client gives must not go back (offline, a session's rows are sorted by time):
        a frame dated before the previous dated one is refused; frames without a time are not
        compared (their time is the frame index over the model's rate)."""
        if time is None:
            return
        if self.last_time is not None and time < self.last_time:
            raise DataError(
                f"frame {seq}: time {time:g} s is before the previous frame's {self.last_time:g} s; "
                "send frames in time order"
            )
        self.last_time = time

    def offer(self, seq: int, frame: np.ndarray | None, time: float | None, received_at: float) -> int:
        """Queue a checked frame; returns how many waiting frames were dropped to make room."""
        self.queue.append((seq, frame, time, received_at))
        dropped = 0
        while len(self.queue) > self.queue_frames:
            self.queue.popleft()
            dropped += 1
        self.dropped += dropped
        return dropped

    def take(self) -> tuple[int, np.ndarray | None, float | None, float]:
        """The oldest waiting frame: (seq, frame, time, received_at)."""
        return self.queue.popleft()

    def decide(self, seq: int, frame: np.ndarray | None, time: float | None) -> DecisionMessage:
        decision = self.streamer.push(frame, time)
        self._remember(decision)
        rules = self.streamer.rules
        state: Literal["active", "unknown", "no_one"] = (
            "no_one"
            if decision.label == rules.no_one_label
            else "unknown"
            if decision.label == rules.unknown_label
            else "active"
        )
        probabilities = None
        if self.send_probabilities and decision.probabilities is not None:
            probabilities = [round(value, 6) for value in decision.probabilities.tolist()]
        return DecisionMessage(
            seq=seq,
            frame=decision.frame,
            t=decision.time,
            label=decision.label,
            confidence=round(float(decision.confidence), 6),
            state=state,
            missing=decision.missing,
            events=[event_out(event) for event in decision.events],
            dropped=self.dropped,
            probabilities=probabilities,
        )

    def _remember(self, decision: Decision) -> None:
        self.label, self.confidence = decision.label, float(decision.confidence)
        if self.timeline and self.timeline[-1][0] == decision.label:
            self.timeline[-1][2] = decision.frame
        else:
            self.timeline.append([decision.label, decision.frame, decision.frame])
        self.events.extend(event_out(event) for event in decision.events)

    def finish(self) -> ClosedMessage:
        closing = [event_out(event) for event in self.streamer.finish()]
        self.events.extend(closing)
        return ClosedMessage(events=closing, frames=self.streamer.frame_index, dropped=self.dropped, errors=self.errors)

    def summary(self) -> dict[str, Any]:
        """What the status page shows: counters, current label, recent runs and events."""
        return {
            "id": self.id,
            "model": self.model_name,
            "opened_at": self.opened_at,
            "frames": self.streamer.frame_index,
            "received": self.received,
            "dropped": self.dropped,
            "errors": self.errors,
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "timeline": [list(run) for run in self.timeline],
            "events": [event.model_dump() for event in self.events],
        }


class SessionStreamers:
    """A Streamer for each new session, forked from one per model (`Streamer.fork`) that is built
    at the first session and never pushed: what a stream builds from its model (a random-kernel
    model's layout, ~20 ms of the event loop) is built once, not per connection."""

    def __init__(self, models: dict[str, Any], runtime: str) -> None:
        self.models, self.runtime = models, runtime
        self.prototypes: dict[str, Streamer] = {}

    def new(self, model: str, rules: DecisionRules) -> Streamer:
        if model not in self.prototypes:
            self.prototypes[model] = Streamer(self.models[model], runtime=self.runtime)
        return self.prototypes[model].fork(rules)

    def warm(self) -> None:
        """Build each streamed model's prototype and push one frame of zeros through a fork of it,
        so what a first session would build or compile (the kernel layout, the compiled step) is
        done before the server takes connections, and before its heap is frozen (`app.freeze_heap`)."""
        for name, recognizer in self.models.items():
            if recognizer.input_medium == "frames":
                shape = tuple(recognizer.frame_shape) or (len(recognizer.feature_names or []),)
                try:
                    self.new(name, session_rules(recognizer, {})).push(np.zeros(shape, np.float32))
                except ActrecError as error:  # its sessions will say it, one line each; serving goes on
                    log.warning("model '%s' was not warmed up: %s", name, error)


class SessionRegistry:
    """The open sessions, and the cap on how many a server takes."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.admitted = 0  # connections holding a slot (some may not have opened a session yet)
        self.sessions: dict[str, Session] = {}

    def admit(self) -> bool:
        """Take a slot for a new connection; False when the server is full."""
        if self.admitted >= self.max_sessions:
            return False
        self.admitted += 1
        return True

    def add(self, session: Session) -> None:
        self.sessions[session.id] = session

    def release(self, session: Session | None) -> None:
        self.admitted -= 1
        if session is not None:
            self.sessions.pop(session.id, None)
