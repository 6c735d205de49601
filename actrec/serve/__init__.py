"""Live recognition as a service: `create_app(models, settings)` (FastAPI), one Streamer per
WebSocket session, message models in `protocol` (optional extra `actrec[serve]`).

The names below are imported when first used, so a `--workers` process that unpickles its uvicorn
config (which names `connections.HeadTimeoutProtocol`) answers uvicorn's health check before it
has imported FastAPI, torch and the models."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "ServeSettings": "actrec.serve.settings",
    "create_app": "actrec.serve.app",
    "load_models": "actrec.serve.app",
    "run_server": "actrec.serve.app",
}

__all__ = ["ServeSettings", "create_app", "load_models", "run_server"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'actrec.serve' has no attribute '{name}'")
    return getattr(import_module(_HOMES[name]), name)
