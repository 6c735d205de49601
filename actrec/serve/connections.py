"""HTTP connections that must send a whole request head in time, or are closed.

uvicorn starts its keep-alive timeout only after a first response, so a client that connects and
sends part of a request head (or nothing) holds its socket for ever; a thousand such use up the
process's file descriptors and `/healthz` fails for everyone. `HeadTimeoutProtocol` (uvicorn's
own HTTP protocol, httptools or h11) arms a timer when a connection is made and again after each
response, and closes the connection if no new request head has arrived when it fires. Requests
being answered are not touched (slow bodies are bounded where they are read, `bodies.read_body`),
nor is a connection upgraded to a WebSocket: its protocol is then another object, and the
session's idle timeout closes a silent client.

On Ray Serve the HTTP server is Serve's proxy, which builds its uvicorn server itself; Serve calls
`install_in_ray_proxy` in the proxy process before that server starts (the import path travels in
the Serve controller's environment, see `serve.ray_serve.deploy`), and the proxy then speaks
`ProxyHeadTimeoutProtocol` with the deadline the environment gives.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

HEADER_TIMEOUT_ENV = "ACTREC_HEADER_TIMEOUT_S"


class HeadTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol with a deadline of `header_timeout_s` for each request head."""

    def __init__(self, *args: Any, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        self.head_timer = self.loop.call_later(self.header_timeout_s, self._close_if_no_new_request, self.cycle)

    def _close_if_no_new_request(self, cycle_when_armed: Any) -> None:
        self.head_timer = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # closed already, or now a WebSocket
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self.cycle is cycle_when_armed:
            self.transport.close()


def head_timeout_protocol(header_timeout_s: float) -> Callable[..., HeadTimeoutProtocol]:
    """What uvicorn's `http=` takes; a partial of a module-level class, so `--workers` processes
    can receive it pickled."""
    return partial(HeadTimeoutProtocol, header_timeout_s=header_timeout_s)


class ProxyHeadTimeoutProtocol(HeadTimeoutProtocol):
    """`HeadTimeoutProtocol` with its deadline from `ACTREC_HEADER_TIMEOUT_S`: Ray Serve's proxy
    names its protocol by import path, so the deadline cannot be bound as an argument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, header_timeout_s=float(os.environ[HEADER_TIMEOUT_ENV]), **kwargs)


def install_in_ray_proxy() -> list[Any]:
    """Ray Serve's HTTP proxy callback (`RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`): makes the
    proxy's uvicorn, which asks for the "auto" protocol, build `ProxyHeadTimeoutProtocol`
    connections. Returns the middlewares Serve expects from the callback: none."""
    from uvicorn.config import HTTP_PROTOCOLS

    HTTP_PROTOCOLS["auto"] = f"{__name__}:{ProxyHeadTimeoutProtocol.__name__}"
    return []
