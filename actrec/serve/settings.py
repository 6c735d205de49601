"""The limits and options of one server (`actrec serve` flags)."""

from __future__ import annotations

from dataclasses import dataclass

from actrec.errors import ConfigError
from actrec.io.array_limits import ArrayLimits


@dataclass
class ServeSettings:
    """Limits and options of one server.

    token: bearer token every `/v1/*` and `/metrics` request and stream must carry (None: open).
    runtime: the Streamer runtime per session; "numpy" (the NumPy state bank, torch for window
      models) builds a session in about a millisecond, where "onnx" exports a graph per session.
    header_timeout_s: seconds an HTTP connection has to send each whole request head (the first,
      and the next after a response) before it is closed; a half-open connection holds a socket.
    body_timeout_s: seconds a predict request has to send its whole body.
    max_array_elements / max_array_bytes: what the arrays of one `.npz` request body may declare,
      checked before anything is inflated (an .npz body of zeros inflates ~1000-fold).
    """

    token: str | None = None
    max_sessions: int = 256
    queue_frames: int = 16  # about half a second at 30 fps: older frames are stale for live use
    max_message_bytes: int = 1 << 20
    max_body_bytes: int = 64 << 20
    max_array_elements: int = 64 << 20
    max_array_bytes: int = 256 << 20
    idle_timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    runtime: str = "numpy"

    def check(self) -> None:
        for name in (
            "max_sessions",
            "queue_frames",
            "max_message_bytes",
            "max_body_bytes",
            "max_array_elements",
            "max_array_bytes",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("idle_timeout_s", "header_timeout_s", "body_timeout_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")

    def array_limits(self) -> ArrayLimits:
        """What the arrays of one `.npz` request body may declare."""
        return ArrayLimits(
            max_elements=self.max_array_elements,
            max_bytes=self.max_array_bytes,
            remedy="send fewer or shorter sequences per request",
            ratio_remedy="send it uncompressed (numpy.savez) or as JSON",
        )
