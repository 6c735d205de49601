"""The one model registry: name -> (typed config, network class) for every kind (sequence networks
and clip networks), so `--model NAME` and option dicts stay typed; each class declares its
`Capabilities`, whose `input_medium` tag says which kind of recognizer it serves."""

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
    per_frame_streaming: can be updated per frame from a kept state instead of re-running the
        whole window (random-kernel models at a cost independent of the window; recurrent stacks
        by one batched step over the window's staggered states); `frame_state` names the state that does it
        (`actrec.stream.states`: recurrent, kernel, ensemble) and `streaming_note` says why not
        when it cannot.
    onnx: exports to ONNX. closed_form: fitted by `actrec.training.kernels` (biases + linear
        head), not by gradient steps. ensemble: its members are chosen and fitted by `fit`, each
        alone, then averaged (`actrec.training.strategies.ensemble`).
    input_medium: what the network reads: `frames` (sequences `[B, T, F]`, the `Recognizer`) or
        `video` (clips `[B, 3, T, H, W]`, the `VideoRecognizer`). Clip networks also say how clips
        are drawn by default (`sampling`: `segments`, one frame from each of T equal parts,
        TSN-style; `dense`, T consecutive frames `stride` apart) and the fewest frames they take
        (`min_frames`).
    """

    needs_skeleton: bool = False
    fixed_length: bool = False
    per_frame_streaming: bool = False
    frame_state: str = ""
    streaming_note: str = "it looks at the whole window at once"
    onnx: bool = True
    closed_form: bool = False
    ensemble: bool = False
    input_medium: str = "frames"
    sampling: str = ""
    min_frames: int = 1


# what a name of a medium is called in messages
MEDIUM_NOUNS = {"frames": "model", "video": "clip model"}
# well-known architectures that are options of a registered model, for the unknown-name message
KNOWN_AS = {
    "i3d": "r3d -o conv=inflated (I3D's inflated 3D ResNet)",
    "r2plus1d": "r3d -o conv=r2plus1d",
    "r(2+1)d": "r3d -o conv=r2plus1d",
}


def declared_capabilities(network_class: type) -> Capabilities:
    """The capabilities a network class declares as a class attribute (the default ones if none)."""
    return getattr(network_class, "capabilities", None) or Capabilities()


def model_names(medium: str | None = None) -> list[str]:
    """The registered names, sorted, of the networks reading `medium` (`frames` | `video`; None: all)."""
    return sorted(
        name
        for name, (_, network_class) in MODELS.items()
        if medium is None or declared_capabilities(network_class).input_medium == medium
    )


def model_capabilities(name: str, options: dict[str, Any] | None = None) -> Capabilities:
    """The capabilities of model `name` with `options`: a network class declares `capabilities`,
    or a classmethod `capabilities_for(config)` when they depend on its options."""
    config = make_config(name, options)
    network_class = MODELS[name][1]
    if hasattr(network_class, "capabilities_for"):
        return network_class.capabilities_for(config)
    return getattr(network_class, "capabilities", Capabilities())


def register_model(
    name: str, config_class: type, capabilities: Capabilities | None = None
) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make `name` buildable from a dict of `config_class` fields; `capabilities`,
    when given, are set as the class's `capabilities`."""

    def decorate(network_class: type[nn.Module]) -> type[nn.Module]:
        MODELS[name] = (config_class, network_class)
        if capabilities is not None:
            network_class.capabilities = capabilities  # type: ignore[attr-defined]
        return network_class

    return decorate


def make_config(name: str, options: dict[str, Any] | None, medium: str | None = None) -> Any:
    """The typed config for model `name` (one reading `medium`, when given); unknown names or
    fields fail with the valid choices."""
    noun = MEDIUM_NOUNS.get(medium or "", "model")
    if name not in model_names(medium):
        if name in MODELS:
            hint = f"; '{name}' reads {declared_capabilities(MODELS[name][1]).input_medium}, not {medium}"
        else:
            hint = f"; {name} is {KNOWN_AS[name.lower()]}" if name.lower() in KNOWN_AS else ""
        raise ConfigError(f"unknown {noun} '{name}'{hint}; choose one of: {', '.join(model_names(medium))}")
    config_class = MODELS[name][0]
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(options or {}) - fields)
    if unknown:
        raise ConfigError(f"{noun} '{name}' has no option '{unknown[0]}'; its options are: {', '.join(sorted(fields))}")
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
    config = make_config(name, options, "frames")
    return MODELS[name][1](n_features=n_features, n_classes=n_classes, config=config, schema=schema)


def network_capabilities(network: nn.Module) -> Capabilities:
    """The capabilities of a built network (from its class and its `config`)."""
    capabilities_for = getattr(type(network), "capabilities_for", None)
    if capabilities_for is not None:
        return capabilities_for(network.config)
    return getattr(network, "capabilities", Capabilities())
