"""The serving app on Ray Serve with two replicas on a private Ray head (tests/helpers/ray_head.py): two
clients streaming the same CSV at once get the decisions and events of offline `actrec stream`
(a session stays on the replica that accepted it, or its Streamer state would be lost), /healthz
and /v1/models answer through Serve's proxy, requests reach both replicas, and the proxy closes a
connection that never finishes its request head, as `actrec serve` does."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli
from actrec.recognizers import Recognizer
from actrec.stream.engine import Streamer
from actrec.stream.sources import CsvSource
from tests.helpers.ray_head import free_port, skip_without_ray

skip_without_ray(serve=True)
pytest.importorskip("websockets")
from actrec.serve import ServeSettings  # noqa: E402
from actrec.serve.client import StreamClient  # noqa: E402
from actrec.serve.ray_serve import REPLICA_HEADER, deploy, undeploy  # noqa: E402

TOKEN = "ray-serve-token"
HEADER_TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def served(ray_head: str, gru_run: Path):
    """The base URL of `gru` deployed with two replicas behind Serve's proxy on a free port."""
    url = deploy(
        [f"gru={gru_run}"],
        ServeSettings(token=TOKEN, header_timeout_s=HEADER_TIMEOUT_S),
        ray_head,
        replicas=2,
        port=free_port(),
    )
    yield url
    undeploy(ray_head)


def get(url: str, token: str | None = None) -> tuple[dict[str, str], object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(response.headers), json.loads(response.read())


def stream_session(url: str, frames: list, results: dict, key: int) -> None:
    with StreamClient(url, "gru", token=TOKEN) as client:
        decisions = [client.push(values, t) for t, values in frames]
    results[key] = decisions, client.closed


def test_two_sessions_on_two_replicas_give_the_decisions_of_offline_stream(served, gru_run, session_csv, tmp_path):
    recognizer = Recognizer.load(gru_run)
    source = CsvSource(session_csv, recognizer)
    frames = list(zip((source.times - source.times[0]).tolist(), source.values))
    events_file = tmp_path / "events.jsonl"
    offline_run = CliRunner().invoke(
        cli, ["stream", str(gru_run), "--source", f"csv:{session_csv}", "--events", str(events_file), "--fast"]
    )
    assert offline_run.exit_code == 0, offline_run.output
    offline_events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert len(offline_events) >= 4  # the session changes class: the parity below is not about nothing
    streamer = Streamer(recognizer, runtime="numpy")  # the runtime a served session uses
    # the protocol sends confidences to 6 decimals
    offline = [
        (decision.label, round(float(decision.confidence), 6))
        for decision in (streamer.push(values, t) for t, values in frames)
    ]

    results: dict[int, tuple] = {}
    clients = [threading.Thread(target=stream_session, args=(served, frames, results, key)) for key in range(2)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=120)
    assert sorted(results) == [0, 1], "a session did not finish"
    for decisions, closed in results.values():
        assert [decision["seq"] for decision in decisions] == list(range(len(frames)))
        assert [(decision["label"], decision["confidence"]) for decision in decisions] == offline
        events = [event for decision in decisions for event in decision["events"]] + closed["events"]
        assert events == offline_events
        assert closed["frames"] == len(frames) and closed["dropped"] == 0


def test_health_and_models_answer_through_the_proxy_from_both_replicas(served):
    replicas, pids = set(), set()
    for _ in range(60):  # Serve picks a replica per request; both show up well within 60 requests
        headers, health = get(f"{served}/healthz")
        assert health["status"] == "ok" and health["models"] == ["gru"]
        replicas.add(headers[REPLICA_HEADER])
        pids.add(health["pid"])
        if len(replicas) == 2:
            break
    assert len(replicas) == 2 and len(pids) == 2  # two replicas, each its own process
    _, models = get(f"{served}/v1/models", TOKEN)
    assert [model["name"] for model in models] == ["gru"] and models[0]["frame_shape"] == [4]
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(f"{served}/v1/models")
    assert refused.value.code == 401


def test_the_proxy_closes_a_connection_that_never_finishes_its_request_head(served):
    address = urllib.parse.urlsplit(served)
    with socket.create_connection((address.hostname, address.port), timeout=30) as half_open:
        half_open.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the blank line never comes
        started = time.monotonic()
        assert half_open.recv(1) == b""  # closed by the proxy; a socket left open raises TimeoutError
    assert HEADER_TIMEOUT_S <= time.monotonic() - started + 0.5 < 15


def test_replicas_without_ray_workers_with_ray_and_an_unreachable_cluster_are_one_line(gru_run):
    runner = CliRunner()
    replicas_alone = runner.invoke(cli, ["serve", str(gru_run), "--replicas", "2"])
    workers_on_ray = runner.invoke(cli, ["serve", str(gru_run), "--ray", "auto", "--workers", "2"])
    unreachable = runner.invoke(cli, ["serve", str(gru_run), "--ray", f"127.0.0.1:{free_port()}", "--replicas", "2"])
    assert replicas_alone.exit_code == 2 and "--replicas goes with --ray" in replicas_alone.output
    assert workers_on_ray.exit_code == 2 and "with --ray give --replicas" in workers_on_ray.output
    assert unreachable.exit_code == 2 and "nothing answers there" in unreachable.output
    assert "Traceback" not in replicas_alone.output + workers_on_ray.output + unreachable.output


def test_a_replica_holds_more_sessions_at_once_than_serves_default_request_limit(served):
    # Serve lets a replica run 5 requests at once by default and a session is one long request:
    # 12 open sessions put at least 6 on one of the two replicas
    clients = [StreamClient(served, "gru", token=TOKEN, timeout_s=20) for _ in range(12)]
    try:
        decisions = [client.push([0.0, 0.1, 0.2, 0.3], 0.0) for client in clients]
    finally:
        for client in clients:
            client.close()
    assert [decision["seq"] for decision in decisions] == [0] * 12
    assert len({client.opened["session"] for client in clients}) == 12
