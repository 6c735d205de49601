"""Name -> (typed config, network class) table, so `--model NAME` and option dicts stay typed."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from torch import nn

from actrec.errors import ConfigError

MODELS: dict[str, tuple[type, type[nn.Module]]] = {}


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
        raise ConfigError(
            f"model '{name}' has no option '{unknown[0]}'; its options are: {', '.join(sorted(fields))}"
        )
    return config_class(**(options or {}))


def build_model(name: str, n_features: int, n_classes: int, options: dict[str, Any] | None = None, schema: Any = None) -> nn.Module:
    """Network `name` for `[B, T, n_features]` input and `n_classes` logits.

    `schema` is the (possibly subsetted) skeleton for graph models; other models ignore it.
    """
    config = make_config(name, options)
    return MODELS[name][1](n_features=n_features, n_classes=n_classes, config=config, schema=schema)
