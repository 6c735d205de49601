"""Name -> (typed config, network class) table, so `--model NAME` and option dicts stay typed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from actrec.errors import ConfigError

MODELS: dict[str, tuple[type, type[nn.Module]]] = {}


@dataclass(frozen=True)
class Capabilities:
    """What a model family can do, read by the Recognizer, the Streamer and export before any work
    (like aeon's classifier tags), so nothing downstream asks which class a network is.

    needs_skeleton: takes keypoint data with a skeleton schema only (graph models).
    fixed_length: every input is laid out on exactly the training window (e.g. `pooling=all`); a
        longer sequence cannot be predicted whole.
    per_frame_streaming: can be updated per frame at a cost that does not grow with the window
        instead of re-running the whole window; `frame_state` names the state that does it
        (`actrec.stream.states`: recurrent, kernel, ensemble) and `streaming_note` says why not
        when it cannot.
    onnx: exports to ONNX. closed_form: fitted by `actrec.training.kernels` (biases + linear
        head), not by gradient steps. ensemble: its members are chosen and fitted by `fit`, each
        alone, then averaged (`actrec.training.strategies.ensemble`).
    """

    needs_skeleton: bool = False
    fixed_length: bool = False
    per_frame_streaming: bool = False
    frame_state: str = ""
    streaming_note: str = "it looks at the whole window at once"
    onnx: bool = True
    closed_form: bool = False
    ensemble: bool = False


def model_capabilities(name: str, options: dict[str, Any] | None = None) -> Capabilities:
    """The capabilities of model `name` with `options`: a network class declares `capabilities`,
    or a classmethod `capabilities_for(config)` when they depend on its options."""
    config = make_config(name, options)
    network_class = MODELS[name][1]
    if hasattr(network_class, "capabilities_for"):
        return network_class.capabilities_for(config)
    return getattr(network_class, "capabilities", Capabilities())


def register_model(name: str, config_class: type) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make `name` buildable from a dict of `config_class` fields."""

    def decorate(network_class: type[nn.Module]) -> type[nn.Module]:
        MODELS[name] = (config_class, network_class)
        return network_class

    return decorate


def make_config(name: str, options: dict[str, Any] | None) -> Any:
    """The typed config for model `name`; unknown names or fields fail with the valid choices."""
    if name not in MODELS:
        raise ConfigError(f"unknown model '{name}'; choose one of: {', '.join(sorted(MODELS))}")
    config_class = MODELS[name][0]
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(options or {}) - fields)
    if unknown:
        raise ConfigError(f"model '{name}' has no option '{unknown[0]}'; its options are: {', '.join(sorted(fields))}")
    try:
        return config_class(**(options or {}))
    except (TypeError, ValueError) as error:  # a value of the wrong kind, e.g. from a YAML file
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(
            f"model '{name}': options {options} do not fit ({error}); see its options' types in the README"
        ) from None


def build_model(
    name: str, n_features: int, n_classes: int, options: dict[str, Any] | None = None, schema: Any = None
) -> nn.Module:
    """Network `name` for `[B, T, n_features]` input and `n_classes` logits.

    `schema` is the (possibly subsetted) skeleton for graph models; other models ignore it.
    """
    config = make_config(name, options)
    return MODELS[name][1](n_features=n_features, n_classes=n_classes, config=config, schema=schema)


def network_capabilities(network: nn.Module) -> Capabilities:
    """The capabilities of a built network (from its class and its `config`)."""
    capabilities_for = getattr(type(network), "capabilities_for", None)
    if capabilities_for is not None:
        return capabilities_for(network.config)
    return getattr(network, "capabilities", Capabilities())
