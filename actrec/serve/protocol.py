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
Text messages are parsed and checked strictly (`STRICT`): JSON numbers only, finite, known fields;
a frame's `t` may not go back before the previous dated frame's (`Session.check_time`).
Server -> client (text JSON): `opened` once, then one `decision` per accepted frame in order (the
events it starts or ends inside it), `error` for a message that was refused, `closed` at the end.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, fields
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter, ValidationError, create_model

from actrec.stream.decisions import DecisionRules

# WebSocket close codes (RFC 6455 section 7.4.1)
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001  # idle timeout
CLOSE_POLICY = 1008  # missing or wrong token, bad `open`
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013  # session cap reached

# What a client sends is checked strictly: numbers are JSON numbers (no "1" strings, no booleans),
# finite (no NaN / Infinity literals; null is a missing value), and no unknown fields. The JSON is
# parsed by pydantic's parser, whose nesting limit (200) refuses `[[[[...` before it recurses.
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Message(BaseModel):
    model_config = STRICT


def _rules_message() -> type[BaseModel]:
    """`DecisionRules`' fields as a strict model, so a client's rules are checked by type before
    any reaches the rules (their bounds are `DecisionRules.check`'s); one field list, the dataclass's."""
    hints = get_type_hints(DecisionRules)
    definitions: dict[str, Any] = {field.name: (hints[field.name], _default(field)) for field in fields(DecisionRules)}
    return create_model("RulesMessage", __config__=STRICT, **definitions)


def _default(field: Field) -> Any:
    if field.default is not MISSING:
        return field.default
    factory = field.default_factory
    return factory() if callable(factory) else factory


if TYPE_CHECKING:  # built at import time from DecisionRules; to a type checker, a pydantic model

    class RulesMessage(BaseModel): ...

else:
    RulesMessage = _rules_message()


class OpenMessage(_Message):
    """Start a session with its own decision rules; omit it to take the model's defaults."""

    type: Literal["open"]
    rules: RulesMessage = RulesMessage()  # only the fields given override the model's
    probabilities: bool = False  # also send the model's per-class probabilities with each decision


class FrameMessage(_Message):
    """One frame as JSON."""

    type: Literal["frame"] = "frame"
    t: float | None = None
    x: list[float | None] | list[list[float | None]] | None


class EndMessage(_Message):
    type: Literal["end"]


def _message_kind(value: Any) -> str | None:
    """The `type` of a client message (a frame may leave it out); None for anything else."""
    if isinstance(value, dict):
        kind = value.get("type", "frame")
        return kind if kind in ("open", "frame", "end") else None
    return None


CLIENT_MESSAGE = TypeAdapter(
    Annotated[
        Annotated[OpenMessage, Tag("open")] | Annotated[FrameMessage, Tag("frame")] | Annotated[EndMessage, Tag("end")],
        Discriminator(
            _message_kind,
            custom_error_type="not_a_message",
            custom_error_message="not a JSON object with 'x' (or 'type' open/end); see actrec.serve.protocol",
        ),
    ]
)


def parse_client_message(text: str | bytes) -> OpenMessage | FrameMessage | EndMessage:
    """One text message as its model; ValidationError for anything else (`error_kind` and
    `error_text` say which kind it tried and why).

    A frame, nearly every message, is first read as `FrameMessage` alone: the union's callable
    discriminator makes pydantic build the whole message as Python objects before validating it
    (~2.5x the time for a 99-value frame). What that accepts is what the union accepts for a
    frame, with the same result; anything it refuses (an open, an end, a bad frame) is read again
    through the union, so every refusal is the union's own error."""
    try:
        return FrameMessage.model_validate_json(text)
    except ValidationError:
        return CLIENT_MESSAGE.validate_json(text)


def error_kind(error: ValidationError) -> str | None:
    """The message kind a refused message claimed ("open", "frame", "end"), None when unparsable."""
    location = error.errors()[0]["loc"]
    return str(location[0]) if location else None


def error_text(error: ValidationError, skip: int = 0) -> str:
    """The first problem as one line: what is wrong and where (`x.3`), leaving out pydantic's
    names of union members and the first `skip` parts of the location."""
    first = error.errors(include_url=False)[0]
    parts = [str(part) for part in first["loc"][skip:] if not (isinstance(part, str) and "[" in part)]
    if first["type"] == "extra_forbidden" and parts:
        return f"unknown field '{parts[-1]}'{f' in {chr(46).join(parts[:-1])}' if parts[:-1] else ''}"
    return f"{first['msg']}{f' at {chr(46).join(parts)}' if parts else ''}"


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

    sequences: list[list[list[float | None]] | list[list[list[float | None]]]]
    ids: list[str] | None = None


class PredictResponse(BaseModel):
    """The columns of `actrec predict`: id, pred, confidence, then one probability per class."""

    columns: list[str]
    rows: list[list[Any]]
