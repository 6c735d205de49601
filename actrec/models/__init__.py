"""Networks only; importing this package registers every model in `MODELS`."""

from actrec.models import ctrgcn, ensemble, inception, recurrent, rocket, stgcn  # noqa: F401  (registration side effect)
from actrec.models.registry import MODELS, build_model, make_config

__all__ = ["MODELS", "build_model", "make_config"]
