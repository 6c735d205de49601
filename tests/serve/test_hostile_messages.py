"""Hostile WebSocket messages and JSON bodies are refused in one line and the session (or server)
carries on: a deeply nested frame, rules of the wrong type or out of bounds, NaN / Infinity times,
strings and booleans as feature values, times going back. A frame refused is answered with
`bad_frame` and its seq; a bad `open` with `bad_open` and close code 1008; never a handler
exception."""

from __future__ import annotations

import json

import pytest

from actrec.recognizers import Recognizer

fastapi_testclient = pytest.importorskip("fastapi.testclient")
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from actrec.serve import ServeSettings, create_app  # noqa: E402

GOOD = [json.dumps({"t": i / 30, "x": [0.1 * i, 0.2, -0.3, 0.4]}) for i in range(5)]


@pytest.fixture(scope="module")
def client(gru_run):
    with fastapi_testclient.TestClient(
        create_app({"gru": Recognizer.load(gru_run)}, ServeSettings(queue_frames=1000))
    ) as client:
        yield client


def replies_to(client, messages):
    with client.websocket_connect("/v1/stream/gru") as ws:
        for message in messages:
            ws.send_text(message)
        ws.send_text(json.dumps({"type": "end"}))
        replies = []
        while not replies or replies[-1]["type"] != "closed":
            replies.append(ws.receive_json())
    return replies


@pytest.mark.parametrize(
    "frame, reason",
    [
        ("[" * 100_000 + "]" * 100_000, "recursion limit"),
        ('{"t": NaN, "x": [1, 2, 3, 4]}', "finite number at t"),
        ('{"t": Infinity, "x": [1, 2, 3, 4]}', "finite number at t"),
        ('{"x": [1, 2, NaN, 4]}', "finite number at x.2"),
        ('{"x": ["1", 2, 3, 4]}', "valid number at x.0"),
        ('{"x": [true, 2, 3, 4]}', "valid number at x.0"),
        ('{"t": "0.5", "x": [1, 2, 3, 4]}', "valid number at t"),
        ('{"type": 5, "x": [1, 2, 3, 4]}', "not a JSON object"),
        ('{"x": [1, 2, 3, 4], "extra": 1}', "unknown field 'extra'"),
    ],
)
def test_a_hostile_frame_gets_bad_frame_and_the_session_goes_on(client, frame, reason):
    replies = replies_to(client, GOOD[:2] + [frame] + GOOD[2:])
    errors = [reply for reply in replies if reply["type"] == "error"]
    assert len(errors) == 1 and errors[0]["code"] == "bad_frame" and errors[0]["seq"] == 2
    assert reason in errors[0]["message"] and "\n" not in errors[0]["message"]
    assert [reply["seq"] for reply in replies if reply["type"] == "decision"] == [0, 1, 3, 4, 5]
    assert all(reply["t"] is not None for reply in replies if reply["type"] == "decision")


def test_a_frame_dated_before_the_previous_one_is_refused(client):
    back = json.dumps({"t": 0.01, "x": [0.0, 0.0, 0.0, 0.0]})
    same = json.dumps({"t": 4 / 30, "x": [0.0, 0.0, 0.0, 0.0]})
    replies = replies_to(client, GOOD + [back, same])
    errors = [reply for reply in replies if reply["type"] == "error"]
    assert [(error["code"], error["seq"]) for error in errors] == [("bad_frame", 5)]
    assert "before the previous frame's 0.133333 s" in errors[0]["message"]
    assert [reply["seq"] for reply in replies if reply["type"] == "decision"] == [0, 1, 2, 3, 4, 6]


@pytest.mark.parametrize(
    "rules, reason",
    [
        ({"enter": "x"}, "valid number at rules.enter"),
        ({"enter": True}, "valid number at rules.enter"),
        ({"enter": 5}, "rule 'enter' is 5"),
        ({"vote_n": 10**9}, "n <= 10000"),
        ({"smoothing_frames": 2.5}, "valid integer at rules.smoothing_frames"),
        ({"min_event_s": -1}, "rule 'min_event_s' is -1"),
        ({"thresholds": {"0": "high"}}, "valid number at rules.thresholds.0"),
        ({"unknown_label": "u" * 1000}, "1 to 100 characters"),
        ({"nope": 1}, "unknown field 'nope' in rules"),
        ([1, 2], "should be an object at rules"),
    ],
)
def test_a_hostile_open_gets_bad_open_and_close_1008(client, rules, reason):
    with client.websocket_connect("/v1/stream/gru") as ws:
        ws.send_text(json.dumps({"type": "open", "rules": rules}))
        reply = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert reply["code"] == "bad_open" and reason in reply["message"] and "\n" not in reply["message"]
    assert closed.value.code == 1008


def test_a_nested_open_is_an_unreadable_message_answered_as_a_bad_frame(client):
    replies = replies_to(client, ['{"type": "open", "rules": ' + "[" * 50_000 + "]" * 50_000 + "}"] + GOOD)
    errors = [reply for reply in replies if reply["type"] == "error"]
    assert [(error["code"], error["seq"]) for error in errors] == [("bad_frame", 0)]
    assert "recursion limit" in errors[0]["message"]
    assert [reply["seq"] for reply in replies if reply["type"] == "decision"] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "sequences, reason",
    [
        ([[["1", 2, 3, 4]]], "valid number"),
        ([[[True, 2, 3, 4]]], "valid number"),
        ("[[[1, 2, 3, Infinity]]]", "finite number"),
        ("[" * 100_000 + "]" * 100_000, "recursion limit"),
    ],
)
def test_json_predict_bodies_are_checked_strictly(client, sequences, reason):
    body = f'{{"sequences": {sequences}}}' if isinstance(sequences, str) else json.dumps({"sequences": sequences})
    response = client.post("/v1/predict/gru", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and reason in response.json()["detail"]
    assert "ragged" not in response.json()["detail"] and "\n" not in response.json()["detail"]
