"""Networks only; importing this package registers every model in `MODELS`."""

from actrec.models import ctrgcn, ensemble, inception, recurrent, rocket, stgcn  # noqa: F401  (registration side effect)
from actrec.models.registry import MODELS, Capabilities, build_model, make_config, model_capabilities

__all__ = ["MODELS", "Capabilities", "build_model", "make_config", "model_capabilities"]
