"""The service in-process (FastAPI TestClient): a served session gives the events `actrec stream`
gives offline on the same CSV, HTTP predict gives `actrec predict`'s columns and values, and bad
clients (malformed floods, oversized messages, wrong tokens, leaving mid-session, idling, one too
many) get a clear refusal while the server keeps serving everyone else."""

from __future__ import annotations

import copy
import json
import struct

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli
from actrec.recognizers import Recognizer
from actrec.stream.engine import Streamer
from actrec.stream.sources import CsvSource
from tests.serve.conftest import FEATURES

fastapi_testclient = pytest.importorskip("fastapi.testclient")
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from actrec.serve import ServeSettings, create_app  # noqa: E402
from actrec.serve.sessions import Session, SessionStreamers, session_rules  # noqa: E402

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def recognizer(gru_run):
    return Recognizer.load(gru_run)


@pytest.fixture(scope="module")
def source(session_csv, recognizer):
    return CsvSource(session_csv, recognizer)


def client_for(recognizer, **settings):
    # These tests send whole files at once, faster than the app decides; a queue longer than any
    # file keeps every frame (dropping is tested on its own, below and in test_client.py).
    settings.setdefault("queue_frames", 100_000)
    return fastapi_testclient.TestClient(create_app({"gru": recognizer}, ServeSettings(**settings)))


def serve_frames(ws, messages, rules=None):
    """Send `open` (when `rules` is given), the frame messages and `end`; collect every reply."""
    if rules is not None:
        ws.send_text(json.dumps({"type": "open", "rules": rules}))
    for message in messages:
        if isinstance(message, bytes):
            ws.send_bytes(message)
        else:
            ws.send_text(message)
    ws.send_text(json.dumps({"type": "end"}))
    replies = []
    while not replies or replies[-1]["type"] != "closed":
        replies.append(ws.receive_json())
    return replies


def json_frames(source):
    return [
        json.dumps({"t": float(t), "x": values.tolist()})
        for t, values in zip(source.times - source.times[0], source.values)
    ]


def events_of(replies):
    decided = [event for reply in replies if reply["type"] == "decision" for event in reply["events"]]
    return decided + replies[-1]["events"]


def offline_events(recognizer, frames, rules=None):
    streamer = Streamer(recognizer, rules=rules)
    events = [event for t, values in frames for event in streamer.push(values, t).events] + streamer.finish()
    return [json.loads(event.to_json()) for event in events]


@pytest.mark.parametrize("encoding", ["json", "binary"])
def test_served_session_gives_the_events_of_offline_actrec_stream(
    gru_run, session_csv, recognizer, source, tmp_path, encoding
):
    events_file = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        cli, ["stream", str(gru_run), "--source", f"csv:{session_csv}", "--events", str(events_file), "--fast"]
    )
    assert result.exit_code == 0, result.output
    offline = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert len(offline) >= 4  # the session changes class: the parity below is not about nothing
    if encoding == "json":
        messages = json_frames(source)
    else:  # the frame's values only: the time is the frame index over the model's 30 Hz, as in the CSV
        messages = [struct.pack(f"<{len(FEATURES)}f", *values) for values in source.values]
    with client_for(recognizer) as client, client.websocket_connect("/v1/stream/gru") as ws:
        replies = serve_frames(ws, messages)
    assert replies[0]["type"] == "opened" and replies[0]["frame_shape"] == [len(FEATURES)]
    decisions = [reply for reply in replies if reply["type"] == "decision"]
    assert [d["seq"] for d in decisions] == list(range(len(source.values)))
    assert [d["frame"] for d in decisions] == list(range(len(source.values)))
    assert events_of(replies) == offline
    assert replies[-1] == {
        "type": "closed",
        "events": replies[-1]["events"],
        "frames": len(source.values),
        "dropped": 0,
        "errors": 0,
    }


def test_rules_set_at_open_apply_to_that_session_only(recognizer, source):
    strict = {"enter": 0.9, "exit": 0.8, "min_event_s": 1.0}
    frames = list(zip((source.times - source.times[0]).tolist(), source.values))
    with client_for(recognizer) as client:
        with client.websocket_connect("/v1/stream/gru") as ws:
            strict_replies = serve_frames(ws, json_frames(source), rules=strict)
        with client.websocket_connect("/v1/stream/gru") as ws:
            default_replies = serve_frames(ws, json_frames(source))
    assert strict_replies[0]["rules"]["enter"] == 0.9
    assert events_of(strict_replies) == offline_events(recognizer, frames, session_rules(recognizer, strict))
    assert events_of(default_replies) == offline_events(recognizer, frames)
    assert events_of(strict_replies) != events_of(default_replies)


def test_rules_saved_in_the_model_are_what_a_session_starts_with(recognizer, source):
    fitted = copy.copy(recognizer)
    fitted.decision_rules = {"enter": 0.9, "exit": 0.8, "min_event_s": 1.0}  # as training or --calibrate saves them
    frames = list(zip((source.times - source.times[0]).tolist(), source.values))
    with client_for(fitted) as client, client.websocket_connect("/v1/stream/gru") as ws:
        replies = serve_frames(ws, json_frames(source))
    assert replies[0]["rules"]["enter"] == 0.9
    assert events_of(replies) == offline_events(fitted, frames)
    assert events_of(replies) != offline_events(recognizer, frames)


def test_a_bad_open_is_refused_with_the_reason(recognizer):
    with client_for(recognizer) as client, client.websocket_connect("/v1/stream/gru") as ws:
        ws.send_text(json.dumps({"type": "open", "rules": {"enter": 0.3, "exit": 0.5}}))
        reply = ws.receive_json()
        assert reply["code"] == "bad_open" and "hysteresis needs exit <= enter" in reply["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_a_flood_of_malformed_frames_gets_one_error_each_and_good_frames_are_still_decided(recognizer, source):
    good = json_frames(source)[:60]
    bad = [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"x": [1.0, 2.0]}),
        json.dumps({"x": ["a", "b", "c", "d"]}),
        json.dumps({"x": [1.0, 2.0, 3.0, 4.0], "extra": 1}),
        b"\x00\x01\x02",
        json.dumps({"x": [[1.0, 2.0], [3.0]]}),
        struct.pack("<4f", 1.0, float("inf"), 0.0, 0.0),
    ]
    messages = []
    for index, frame in enumerate(good):
        messages.append(frame)
        messages.extend(bad if index % 3 == 0 else [])
    with client_for(recognizer) as client, client.websocket_connect("/v1/stream/gru") as ws:
        replies = serve_frames(ws, messages)
    errors = [reply for reply in replies if reply["type"] == "error"]
    decisions = [reply for reply in replies if reply["type"] == "decision"]
    assert len(errors) == 20 * len(bad) and {error["code"] for error in errors} == {"bad_frame"}
    assert len(decisions) == len(good)
    answered = sorted([reply["seq"] for reply in errors] + [reply["seq"] for reply in decisions])
    assert answered == list(range(len(messages)))  # every frame message got exactly one answer
    frames = list(zip((source.times - source.times[0]).tolist()[:60], source.values[:60]))
    assert events_of(replies) == offline_events(recognizer, frames)
    assert replies[-1]["errors"] == len(errors)


def test_oversized_messages_close_that_session_only(recognizer, source):
    with client_for(recognizer, max_message_bytes=200) as client, client.websocket_connect("/v1/stream/gru") as other:
        other.send_text(json_frames(source)[0])
        with client.websocket_connect("/v1/stream/gru") as ws:
            ws.send_text(json.dumps({"t": 0.0, "x": [0.0] * 100}))
            error = ws.receive_json()
            assert error["code"] == "too_big" and "200-byte limit" in error["message"]
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1009
        replies = [other.receive_json(), other.receive_json()]
        replies += serve_frames(other, json_frames(source)[1:30])
    assert [reply["type"] for reply in replies].count("decision") == 30


def test_a_client_leaving_mid_session_frees_its_slot_and_others_carry_on(recognizer, source):
    frames = json_frames(source)
    with client_for(recognizer, max_sessions=2) as client:
        with client.websocket_connect("/v1/stream/gru") as survivor:
            with client.websocket_connect("/v1/stream/gru") as leaver:
                for frame in frames[:40]:
                    leaver.send_text(frame)
                leaver.receive_json()
            # the leaver is gone without `end`: its slot is free again for a new client
            with client.websocket_connect("/v1/stream/gru") as newcomer:
                newcomer_replies = serve_frames(newcomer, frames[:10])
            survivor_replies = serve_frames(survivor, frames)
        assert client.get("/healthz").json()["sessions"] == 0
        metrics = client.get("/metrics").text
    assert [reply["type"] for reply in newcomer_replies].count("decision") == 10
    full = list(zip((source.times - source.times[0]).tolist(), source.values))
    assert events_of(survivor_replies) == offline_events(recognizer, full)
    assert 'actrec_sessions{model="gru"} 0.0' in metrics
    assert 'actrec_sessions_opened_total{model="gru"} 3.0' in metrics


def test_one_session_past_the_cap_is_refused_clearly(recognizer):
    with client_for(recognizer, max_sessions=1) as client, client.websocket_connect("/v1/stream/gru") as first:
        with client.websocket_connect("/v1/stream/gru") as second:
            refusal = second.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_json()
        first.send_text(json.dumps({"x": [0.0] * len(FEATURES)}))
        assert [first.receive_json()["type"], first.receive_json()["type"]] == ["opened", "decision"]
        assert 'actrec_sessions_refused_total{reason="server_full"} 1.0' in client.get("/metrics").text
    assert refusal["code"] == "server_full" and "cap" in refusal["message"] and closed.value.code == 1013


def test_a_wrong_token_is_refused_and_the_right_one_served(recognizer, source):
    with client_for(recognizer, token=TOKEN) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            with client.websocket_connect("/v1/stream/gru", headers=headers) as ws:
                assert ws.receive_json()["code"] == "unauthorized"
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_json()
                assert closed.value.code == 1008
            assert client.get("/v1/models", headers=headers).status_code == 401
            assert client.get("/metrics", headers=headers).status_code == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        with client.websocket_connect("/v1/stream/gru", headers=good) as ws:
            replies = serve_frames(ws, json_frames(source)[:5])
        assert [reply["type"] for reply in replies].count("decision") == 5
        assert client.get("/v1/models", headers=good).json()[0]["name"] == "gru"
        assert client.get("/healthz").status_code == 200  # liveness probes carry no token


def test_a_silent_client_is_closed_after_the_idle_timeout(recognizer):
    with client_for(recognizer, idle_timeout_s=0.3) as client, client.websocket_connect("/v1/stream/gru") as ws:
        assert ws.receive_json()["code"] == "idle_timeout"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1001


def test_a_full_session_queue_drops_the_oldest_frames_and_says_how_many(recognizer, source):
    session = Session("gru", Streamer(recognizer, runtime="numpy"), queue_frames=3)
    for values in source.values[:5]:
        session.offer(session.new_seq(), values, None, 0.0)
    decisions = [session.decide(*session.take()[:3]) for _ in range(len(session.queue))]
    assert [d.seq for d in decisions] == [2, 3, 4]  # the two oldest were dropped
    assert [d.frame for d in decisions] == [0, 1, 2] and all(d.dropped == 2 for d in decisions)


def test_sessions_over_a_kernel_model_share_its_layout_and_decide_as_offline():
    """Each session forks one Streamer per model: the random-kernel layout (~20 ms to build) is
    built once, while each session keeps its own state and rules."""
    from tests.helpers.waves import make_waves

    recognizer = Recognizer(seed=0).fit(make_waves(n=60))  # the default model: random kernels
    streamers = SessionStreamers({"k": recognizer}, "numpy")
    overrides = [{}, {"enter": 0.99, "unknown_label": "none yet"}]
    sessions = [Session("k", streamers.new("k", session_rules(recognizer, rules)), 100) for rules in overrides]
    assert sessions[0].streamer.model.kernel_positions is sessions[1].streamer.model.kernel_positions
    frames = [make_waves(n=4, seed=5).X[k].reshape(-1, recognizer.frame_shape[0]) for k in (0, 1)]
    got: list[list[tuple[str, float]]] = [[], []]
    for t in range(len(frames[0])):  # pushed in turn, as the event loop interleaves sessions
        for session, values, decided in zip(sessions, frames, got):
            decision = session.decide(session.new_seq(), values[t], None)
            decided.append((decision.label, decision.confidence))
    for rules, values, decided in zip(overrides, frames, got):
        offline = Streamer(recognizer, runtime="numpy", rules=session_rules(recognizer, rules))
        assert decided == [(d.label, round(float(d.confidence), 6)) for d in map(offline.push, values)]


def test_predict_gives_the_columns_and_values_of_actrec_predict(gru_run, recognizer, tmp_path):
    from tests.helpers.waves import make_waves

    data = make_waves(n=6, seed=3)
    data.to_npz(str(tmp_path / "windows.npz"))
    result = CliRunner().invoke(
        cli,
        ["predict", str(gru_run), "--data", str(tmp_path / "windows.npz"), "--out", str(tmp_path / "predictions.csv")],
    )
    assert result.exit_code == 0, result.output
    expected = pd.read_csv(tmp_path / "predictions.csv", dtype={"id": str})
    body = {"sequences": data.X.tolist(), "ids": data.ids.tolist()}
    with client_for(recognizer) as client:
        from_json = client.post("/v1/predict/gru", json=body).json()
        from_npz = client.post(
            "/v1/predict/gru",
            content=(tmp_path / "windows.npz").read_bytes(),
            headers={"content-type": "application/octet-stream"},
        ).json()
        as_csv = client.post("/v1/predict/gru", json=body, headers={"accept": "text/csv"})
        bad = client.post("/v1/predict/gru", json={"sequences": [[[1.0, 2.0]]]})
        not_npz = client.post("/v1/predict/gru", content=b"id,x\n1,2\n", headers={"content-type": "text/csv"})
        unknown = client.post("/v1/predict/nope", json=body)
    for response in (from_json, from_npz):
        table = pd.DataFrame(response["rows"], columns=response["columns"])
        assert list(table.columns) == list(expected.columns)
        assert table["id"].tolist() == expected["id"].tolist() and table["pred"].tolist() == expected["pred"].tolist()
        np.testing.assert_allclose(table.iloc[:, 2:].to_numpy(float), expected.iloc[:, 2:].to_numpy(float), atol=1e-6)
    assert as_csv.headers["content-type"].startswith("text/csv") and as_csv.text.splitlines()[0] == ",".join(
        expected.columns
    )
    assert bad.status_code == 422 and "the model was trained on [4]" in bad.json()["detail"]
    assert not_npz.status_code == 422 and not_npz.json()["detail"].startswith("request body (.npz")
    assert unknown.status_code == 404 and "this server has: gru" in unknown.json()["detail"]


def test_models_and_metrics_describe_what_was_served(recognizer, source):
    with client_for(recognizer) as client:
        with client.websocket_connect("/v1/stream/gru") as ws:
            serve_frames(ws, json_frames(source)[:50] + ["oops"])
        models = client.get("/v1/models").json()
        metrics = client.get("/metrics").text
    assert models[0] | {"default_rules": None} == {
        "name": "gru",
        "kind": "sequence",
        "label_names": recognizer.label_names,
        "window_length": recognizer.window_length,
        "sample_rate_hz": 30.0,
        "frame_shape": [4],
        "feature_names": FEATURES,
        "schema_name": None,
        "schema_definition": None,
        "streaming_mode": "incremental",
        "default_rules": None,
    }
    assert 'actrec_frames_total{model="gru"} 50.0' in metrics
    assert "actrec_frame_latency_seconds_count 50.0" in metrics
    assert 'actrec_errors_total{code="bad_frame"} 1.0' in metrics
