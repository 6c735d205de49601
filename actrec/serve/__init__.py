"""Live recognition as a service: `create_app(models, settings)` (FastAPI), one Streamer per
WebSocket session, message models in `protocol` (optional extra `actrec[serve]`)."""

from actrec.serve.app import create_app, load_models, run_server
from actrec.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "load_models", "run_server"]
