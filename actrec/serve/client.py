"""A Python client for `actrec serve`: stream frames to a remote model and read its decisions.

    with StreamClient("http://127.0.0.1:8000", "gru", token=None, rules={"enter": 0.7}) as client:
        decision = client.push(frame, t)          # lockstep: one frame, its decision (a dict)
        client.send(frame, t); client.receive()   # or pipelined: send many, read in order
    client.closed["events"]                        # events closed when the stream ended

`RemoteStreamer` wraps a client in the `Streamer` interface (`push`, `finish`, `describe`), and
`remote_model` fetches what a source needs (feature names, skeleton), so `actrec stream RUN
--server URL` runs the same capture loop as a local stream. Needs `websockets` (`actrec[serve]`).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np

from actrec.errors import ConfigError, DataError
from actrec.stream.decisions import Decision, DecisionRules
from actrec.stream.events import Event


def _base_url(server: str) -> str:
    if not server.startswith(("http://", "https://")):
        raise ConfigError(f"--server '{server}': give the server's address, e.g. http://127.0.0.1:8000")
    return server.rstrip("/")


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass
class RemoteModel:
    """What a source needs from the served model: `feature_names` to match CSV columns, the
    skeleton and `frame_shape` to extract keypoints from video, the labels and rate."""

    name: str
    label_names: list[str]
    feature_names: list[str] | None
    frame_shape: tuple[int, ...]
    sample_rate_hz: float | None
    schema: str | None
    schema_definition: dict[str, Any] | None

    def skeleton(self) -> Any:
        if not self.schema:
            return None
        from actrec.skeletons.schema import get_schema, schema_from_dict

        if self.schema_definition:
            return schema_from_dict(self.schema_definition, source=f"model schema {self.schema}")
        return get_schema(self.schema)


def remote_model(server: str, name: str, token: str | None = None, timeout_s: float = 10.0) -> RemoteModel:
    """The model `name` as `GET /v1/models` describes it."""
    url = f"{_base_url(server)}/v1/models"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=_headers(token)), timeout=timeout_s
        ) as response:
            models = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise ConfigError(f"{url}: HTTP {error.code} ({error.read().decode(errors='replace')[:200]})") from None
    except (urllib.error.URLError, OSError) as error:
        raise ConfigError(
            f"{url}: cannot reach the server ({getattr(error, 'reason', error)}); is `actrec serve` running?"
        ) from None
    found = {model["name"]: model for model in models}
    if name not in found:
        raise ConfigError(f"the server has no model '{name}'; it serves: {', '.join(found)}")
    info = found[name]
    return RemoteModel(
        name=name,
        label_names=info["label_names"],
        feature_names=info["feature_names"],
        frame_shape=tuple(info["frame_shape"]),
        sample_rate_hz=info["sample_rate_hz"],
        schema=info["schema_name"],
        schema_definition=info["schema_definition"],
    )


class StreamClient:
    """One streaming session with a served model (a synchronous WebSocket).

    rules: decision-rule overrides for this session (fields of `DecisionRules`).
    `opened` holds the server's `opened` message (session id, effective rules, frame shape).
    """

    def __init__(
        self,
        server: str,
        model: str,
        token: str | None = None,
        rules: dict[str, Any] | None = None,
        probabilities: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        from websockets.sync.client import connect

        url = _base_url(server).replace("http", "ws", 1) + f"/v1/stream/{model}"
        self.timeout_s = timeout_s
        self.closed: dict[str, Any] | None = None
        try:
            # entered here, closed by `close`/`__exit__` (websockets 17 wants connect() entered)
            self._socket = connect(
                url, additional_headers=_headers(token), open_timeout=timeout_s, max_size=None, compression=None
            ).__enter__()
        except OSError as error:
            raise ConfigError(f"{url}: cannot connect ({error}); is `actrec serve` running?") from None
        self._socket.send(json.dumps({"type": "open", "rules": rules or {}, "probabilities": probabilities}))
        self.opened = self._expect("opened")

    def send(self, frame: np.ndarray | list | None, t: float | None = None) -> None:
        """Send one frame (`[F]` or `[J, C]`; None or NaN values for missing) without waiting."""
        values = None
        if frame is not None:
            values = [None if math.isnan(v) else v for v in np.asarray(frame, dtype=np.float32).reshape(-1).tolist()]
        self._socket.send(json.dumps({"t": t, "x": values}))

    def receive(self) -> dict[str, Any]:
        """The next message from the server (decision, error or closed), as a dict."""
        from websockets.exceptions import ConnectionClosed

        try:
            return json.loads(self._socket.recv(timeout=self.timeout_s))
        except TimeoutError:
            raise ConfigError(f"the server sent nothing for {self.timeout_s:g} s") from None
        except ConnectionClosed as error:
            raise ConfigError(
                f"the server closed the session (code {error.rcvd.code if error.rcvd else '?'})"
            ) from None

    def push(self, frame: np.ndarray | list | None, t: float | None = None) -> dict[str, Any]:
        """Send one frame and wait for its decision; a refused frame raises DataError."""
        self.send(frame, t)
        return self._expect("decision")

    def close(self) -> list[dict[str, Any]]:
        """End the session: the server decides every frame still queued, then sends `closed`.
        Returns the messages that came before `closed` (which is kept in `self.closed`)."""
        if self.closed is not None:
            return []
        self._socket.send(json.dumps({"type": "end"}))
        rest: list[dict[str, Any]] = []
        while True:
            message = self.receive()
            if message["type"] == "closed":
                self.closed = message
                self._socket.close()
                return rest
            rest.append(message)

    def _expect(self, kind: str) -> dict[str, Any]:
        message = self.receive()
        if message["type"] == "error":
            error = DataError if message["code"] == "bad_frame" else ConfigError
            raise error(f"server: {message['message']}")
        if message["type"] != kind:
            raise ConfigError(f"server sent '{message['type']}' where '{kind}' was due")
        return message

    def __enter__(self) -> StreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._socket.close()


def _event(message: dict[str, Any]) -> Event:
    return Event(message["type"], message["label"], message["time"], message["frame"], message["confidence"])


class RemoteStreamer:
    """The `Streamer` interface over a served session, so local capture loops stream remotely."""

    def __init__(self, client: StreamClient, server: str) -> None:
        self.client = client
        self.server = server

    def push(self, frame: np.ndarray | None, time: float | None = None) -> Decision:
        reply = self.client.push(frame, time)
        probabilities = None if reply["probabilities"] is None else np.asarray(reply["probabilities"], np.float32)
        return Decision(
            reply["frame"],
            reply["t"],
            probabilities,
            None,
            None,
            reply["label"],
            reply["confidence"],
            [_event(event) for event in reply["events"]],
            reply["missing"],
        )

    def finish(self) -> list[Event]:
        self.client.close()
        assert self.client.closed is not None
        return [_event(event) for event in self.client.closed["events"]]

    def describe(self) -> str:
        opened = self.client.opened
        return f"served by {self.server}: model {opened['model']}, session {opened['session']}"

    @property
    def rules(self) -> DecisionRules:
        """The rules the served session runs (the server's defaults with the ones this client sent)."""
        return DecisionRules(**self.client.opened["rules"])
