"""The messages of the serving API, as pydantic models: what a client may send and what it gets.

WebSocket `/v1/stream/{model}`, client -> server (text JSON, or binary):
  `{"type": "open", "rules": {...}, "probabilities": false}`  optional, first message only: the
      session's decision rules (fields of `actrec.stream.DecisionRules`, over the model's defaults)
  `{"t": seconds, "x": [...]}`  one frame: `x` is `[F]` features or `[J, C]` keypoints (a flat list
      of the same size is accepted); null values are NaN (undetected joints); `"x": null` is a
      missing frame (nobody in view); `t` defaults to the frame index over the model's rate
  binary: little-endian float32, either the frame's values (`prod(frame_shape)` numbers) or `t`
      followed by them (one more number)
  `{"type": "end"}`  drain the queue, close open events, close the session
Server -> client (text JSON): `opened` once, then one `decision` per accepted frame in order (the
events it starts or ends inside it), `error` for a message that was refused, `closed` at the end.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# WebSocket close codes (RFC 6455 section 7.4.1)
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001  # idle timeout
CLOSE_POLICY = 1008  # missing or wrong token, bad `open`
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013  # session cap reached


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenMessage(_Message):
    """Start a session with its own decision rules; omit it to take the model's defaults."""

    type: Literal["open"]
    rules: dict[str, Any] = {}
    probabilities: bool = False  # also send the model's per-class probabilities with each decision


class FrameMessage(_Message):
    """One frame as JSON."""

    type: Literal["frame"] = "frame"
    t: float | None = None
    x: list[float | None] | list[list[float | None]] | None


class EventOut(BaseModel):
    """An activity starting or ending (as `actrec stream --events` writes it)."""

    type: Literal["start", "end"]
    label: str
    time: float
    frame: int
    confidence: float


class OpenedMessage(BaseModel):
    type: Literal["opened"] = "opened"
    session: str
    model: str
    frame_shape: list[int]
    label_names: list[str]
    sample_rate_hz: float
    rules: dict[str, Any]
    queue_frames: int


class DecisionMessage(BaseModel):
    """The decision at one frame. `seq` counts the frames this session received (dropped ones
    included), `frame` the frames the recognizer saw; `dropped` is the session's total so far.
    state: `active` (an event is open, `label` is its class), `unknown` or `no_one`."""

    type: Literal["decision"] = "decision"
    seq: int
    frame: int
    t: float
    label: str
    confidence: float
    state: Literal["active", "unknown", "no_one"]
    missing: bool
    events: list[EventOut]
    dropped: int
    probabilities: list[float] | None = None


class ErrorMessage(BaseModel):
    """A refused message or session. code: bad_frame, bad_message, too_big, unauthorized,
    server_full, bad_open, unknown_model, not_streamable, idle_timeout. `seq` names the refused frame, if any."""

    type: Literal["error"] = "error"
    code: str
    message: str
    seq: int | None = None


class ClosedMessage(BaseModel):
    """The session's end: events closed because the stream stopped, and its totals."""

    type: Literal["closed"] = "closed"
    events: list[EventOut]
    frames: int
    dropped: int
    errors: int


class ModelInfo(BaseModel):
    """What a client needs to send frames: shape, feature names or skeleton, rate, window. `kind`
    is the model file's: `sequence` (frames of features or keypoints), or `video` (a clip model:
    one video file per POST, `window_length` in video frames, no WebSocket stream)."""

    name: str
    kind: Literal["sequence", "video"] = "sequence"
    label_names: list[str]
    window_length: int
    sample_rate_hz: float | None
    frame_shape: list[int]
    feature_names: list[str] | None
    schema_name: str | None
    schema_definition: dict[str, Any] | None
    streaming_mode: str
    default_rules: dict[str, Any]


class PredictRequest(_Message):
    """Whole sequences or windows, each `[T, F]` or `[T, J, C]` (T may differ; null is NaN)."""

    sequences: list[list[Any]]
    ids: list[str] | None = None


class PredictResponse(BaseModel):
    """The columns of `actrec predict`: id, pred, confidence, then one probability per class."""

    columns: list[str]
    rows: list[list[Any]]
