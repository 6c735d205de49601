"""Hostile inputs for the server and the model loader, generated (derandomised, see fuzzing.py):

- WebSocket sessions of 1-8 messages: JSON of any shape (nested values, NaN/Infinity literals,
  huge integers, strings where numbers go), near-valid frames and `open`s with every rule given
  any value, deep nesting, broken JSON, arbitrary text, and binary frames of any length and value.
  Property: the server answers with protocol messages only (`error` codes from the protocol, never
  `internal`), each error one line, and nothing escapes the handler (the TestClient re-raises any
  exception the app lets out).
- `POST /v1/predict` bodies: JSON of any shape and damaged `.npz` bytes; the answer is 200, 413
  or a one-line 422, never a 500.
- Model files whose metadata has one value replaced by any JSON value (checksum recomputed, so
  the file is well formed): loading either works or is one ModelFileError line naming the file.

The number of inputs tried is printed at the end of the run (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actrec.recognizers import Recognizer
from actrec.stream.decisions import DecisionRules
from tests.fuzz.fuzzing import COUNTS, FLOATS, TEXT, corrupted, fuzz_settings, loads_or_fails_cleanly, scratch
from tests.helpers.waves import make_waves

fastapi_testclient = pytest.importorskip("fastapi.testclient")
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from actrec.serve import ServeSettings, create_app  # noqa: E402

ERROR_CODES = {"bad_frame", "bad_message", "bad_open", "too_big"}
REPLY_TYPES = {"opened", "decision", "error", "closed"}

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), FLOATS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=16
)
NUMBERS = st.one_of(FLOATS, st.integers(-5, 20_000), st.integers(-(2**64), 2**64))
RULE_VALUES = st.one_of(
    NUMBERS,
    NUMBERS,
    JSON_VALUES,
    st.dictionaries(TEXT | st.sampled_from(["0", "1", "2"]), NUMBERS | JSON_VALUES, max_size=3),
)
RULES = st.dictionaries(
    st.sampled_from([field.name for field in fields(DecisionRules)] + ["nope"]), RULE_VALUES, max_size=4
)
VALUES = st.one_of(FLOATS, st.none(), SCALARS)
FRAME_X = st.one_of(
    st.lists(FLOATS, min_size=4, max_size=4),
    st.lists(VALUES, max_size=6),
    st.lists(st.lists(VALUES, max_size=3), max_size=3),
    JSON_VALUES,
)


def dumps(value) -> str:
    return json.dumps(value)  # NaN and Infinity become the JSON literals a hostile client sends


@st.composite
def text_messages(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["frame", "frame", "frame", "open", "end", "any", "nested", "broken", "text"]))
    if kind == "frame":
        message = {"x": draw(FRAME_X)}
        if draw(st.booleans()):
            message["t"] = draw(st.one_of(FLOATS, FLOATS, SCALARS))
        if not draw(st.integers(0, 5)):
            message[draw(st.sampled_from(["type", "extra"]))] = draw(JSON_VALUES)
        return dumps(message)
    if kind == "open":
        message = {"type": "open", "rules": draw(st.one_of(RULES, RULES, JSON_VALUES))}
        if draw(st.booleans()):
            message["probabilities"] = draw(SCALARS)
        return dumps(message)
    if kind == "end":
        return dumps({"type": "end"} | draw(st.dictionaries(st.sampled_from(["x", "t"]), SCALARS, max_size=1)))
    if kind == "any":
        return dumps(draw(JSON_VALUES))
    if kind == "nested":
        depth = draw(st.integers(1, 5000))
        opening, closing = draw(st.sampled_from([("[", "]"), ('{"x":', "}"), ('{"type":"open","rules":{"a":', "}}")]))
        return opening * depth + "1" + closing * depth
    if kind == "broken":
        text = dumps({"t": draw(FLOATS), "x": draw(st.lists(FLOATS, max_size=4))})
        return text[: draw(st.integers(0, len(text)))]
    return draw(st.text(max_size=40))


@st.composite
def binary_messages(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        count = draw(st.sampled_from([4, 5]))
        return struct.pack(f"<{count}f", *draw(st.lists(st.floats(width=32), min_size=count, max_size=count)))
    return draw(st.binary(max_size=40))


MESSAGES = st.lists(
    st.one_of(text_messages(), text_messages(), text_messages(), binary_messages()), min_size=1, max_size=8
)


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(
        make_waves(n=30)
    )


@pytest.fixture(scope="module")
def client(recognizer):
    with fastapi_testclient.TestClient(create_app({"gru": recognizer}, ServeSettings(queue_frames=10_000))) as client:
        yield client


def session_replies(client, messages: list[str | bytes]) -> list[dict]:
    """Send `messages` and `end`; every reply until `closed` or the server closes the connection."""
    replies: list[dict] = []
    with client.websocket_connect("/v1/stream/gru") as ws:
        try:
            for message in messages:
                ws.send_bytes(message) if isinstance(message, bytes) else ws.send_text(message)
            ws.send_text('{"type": "end"}')
            while not replies or replies[-1]["type"] != "closed":
                replies.append(ws.receive_json())
        except WebSocketDisconnect as closed:
            assert closed.code in (1008, 1009), closed.code  # a bad open, or too big
    return replies


@fuzz_settings(600)
@given(messages=MESSAGES)
def test_hostile_websocket_messages_get_protocol_answers_only(client, messages):
    COUNTS["inputs"] += len(messages)
    try:
        replies = session_replies(client, messages)
    except BaseException:
        COUNTS["tracebacks"] += 1
        raise
    for reply in replies:
        assert reply["type"] in REPLY_TYPES, reply
        if reply["type"] == "error":
            assert reply["code"] in ERROR_CODES and "\n" not in reply["message"], reply
            COUNTS["refused"] += 1
        elif reply["type"] == "decision":
            assert reply["t"] is not None and np.isfinite(reply["t"]), reply
            COUNTS["loaded"] += 1
    if replies and replies[-1]["type"] == "closed":  # every frame message got exactly one answer
        answered = [reply["seq"] for reply in replies if reply["type"] == "decision" or reply.get("seq") is not None]
        assert sorted(answered) == list(range(len(answered)))


@st.composite
def predict_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    if draw(st.booleans()):
        sequences = draw(
            st.one_of(st.lists(st.lists(st.lists(VALUES, max_size=5), max_size=4), max_size=3), JSON_VALUES)
        )
        body = {"sequences": sequences} if draw(st.integers(0, 4)) else draw(JSON_VALUES)
        return dumps(body).encode(), "application/json"
    buffer = io.BytesIO()
    X = np.asarray(draw(st.lists(FLOATS, min_size=8, max_size=8)), np.float32).reshape(1, 2, 4)
    np.savez(buffer, X=X) if draw(st.booleans()) else np.savez_compressed(buffer, X=X)
    return draw(corrupted(buffer.getvalue())), "application/octet-stream"


@fuzz_settings(300)
@given(body=predict_bodies())
def test_hostile_predict_bodies_get_200_or_a_one_line_refusal(client, body):
    content, kind = body
    COUNTS["inputs"] += 1
    response = client.post("/v1/predict/gru", content=content, headers={"content-type": kind})
    if response.status_code != 200:
        COUNTS["refused"] += 1
        assert response.status_code in (413, 422), (response.status_code, response.text[:500])
        assert "\n" not in response.json()["detail"]
    else:
        COUNTS["loaded"] += 1


@st.composite
def edited_metadata(draw: st.DrawFn, meta: dict) -> dict:
    """`meta` with one value (top level, in config, or in model_options) replaced, or deleted."""
    meta = json.loads(json.dumps(meta))
    where = draw(st.sampled_from([meta, meta, meta["config"], meta["config"]["model_options"]]))
    key = draw(st.sampled_from(sorted(where) + ["nope"]))
    if draw(st.integers(0, 4)):
        where[key] = draw(st.one_of(JSON_VALUES, NUMBERS, st.lists(st.integers(-3, 300_000), max_size=3)))
    else:
        where.pop(key, None)
    return meta


@pytest.fixture(scope="module")
def saved_model(recognizer, tmp_path_factory):
    from safetensors import safe_open

    from actrec.io.model_file import METADATA_KEY

    path = recognizer.save(tmp_path_factory.mktemp("model") / "model.actrec")
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()[METADATA_KEY]), {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open is not iterable)


@fuzz_settings(200)
@given(data=st.data())
def test_model_files_with_any_metadata_load_or_fail_in_one_line(saved_model, data):
    from safetensors.torch import save_file

    from actrec.io.model_file import CHECKSUM_KEY, METADATA_KEY, model_checksum

    meta, tensors = saved_model
    text = json.dumps(data.draw(edited_metadata(meta)))
    with scratch() as folder:
        path = folder / "model.actrec"
        save_file(tensors, path, metadata={METADATA_KEY: text, CHECKSUM_KEY: model_checksum(text, tensors)})
        loads_or_fails_cleanly(lambda: Recognizer.load(path), path)
