"""Half-open HTTP connections are closed by the server: a client that sends part of a request
head (or nothing) loses its socket after `header_timeout_s`, one that trickles a predict body
gets 408 after `body_timeout_s`; a keep-alive client and a WebSocket session that outlive those
timeouts are served as before. The server runs under uvicorn with `server_options`, as
`actrec serve` runs it."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

import pytest

from actrec.recognizers import Recognizer

uvicorn = pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")
from actrec.serve import ServeSettings, create_app  # noqa: E402
from actrec.serve.app import server_options  # noqa: E402

WAIT_S = 30  # far above the timeouts below: a socket still open then was never closed


@contextmanager
def served(recognizer, settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app({"gru": recognizer}, settings), log_level="warning", **server_options(settings))
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture(scope="module")
def port(gru_run):
    settings = ServeSettings(header_timeout_s=0.5, body_timeout_s=0.5, idle_timeout_s=30)
    with served(Recognizer.load(gru_run), settings) as port:
        yield port


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    connection.settimeout(WAIT_S)
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize("partial", [b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"POST /v1/predict/gru HT"])
def test_a_connection_that_never_finishes_its_request_head_is_closed(port, partial):
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(partial)
        assert read_until_closed(connection) == b""


def test_a_body_that_never_arrives_gets_408(port):
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(
            b"POST /v1/predict/gru HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"sequences":'
        )
        reply = read_until_closed(connection)
    assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive within 0.5 s" in reply


def test_keep_alive_requests_and_websocket_sessions_outlive_the_head_timeout(port):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(WAIT_S)
        connection.sendall(request)
        first = connection.recv(65536)
        connection.sendall(request)  # the same connection, straight after the first answer
        second = connection.recv(65536)
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
    with websockets_sync.connect(f"ws://127.0.0.1:{port}/v1/stream/gru") as ws:
        ws.send(json.dumps({"type": "open"}))
        assert json.loads(ws.recv(timeout=WAIT_S))["type"] == "opened"
        time.sleep(1.5)  # three head timeouts: the upgraded connection must not be closed by them
        ws.send(json.dumps({"t": 0.0, "x": [0.0, 0.1, 0.2, 0.3]}))
        assert json.loads(ws.recv(timeout=WAIT_S))["type"] == "decision"
