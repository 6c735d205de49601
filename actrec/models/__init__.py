"""Networks only; importing this package registers every model, sequence and clip networks alike,
in the one registry (`MODELS`, each class's `Capabilities.input_medium` telling the kinds apart)."""

from actrec.models import ctrgcn, ensemble, inception, recurrent, rocket, stgcn, video  # noqa: F401  (registration side effect)
from actrec.models.registry import MODELS, Capabilities, build_model, make_config, model_capabilities, model_names

__all__ = ["MODELS", "Capabilities", "build_model", "make_config", "model_capabilities", "model_names"]
