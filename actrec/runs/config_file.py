"""Training options from a YAML file (`actrec train --config`, what `actrec sweep` writes as
best_config.yaml), checked against `TrainConfig` with renamed options read under their new names."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from actrec.config import renamed_options
from actrec.errors import ConfigError
from actrec.io.yaml_file import read_yaml
from actrec.recognizers import TrainConfig


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML mapping of `TrainConfig` fields (what `actrec sweep` writes as best_config.yaml)."""
    values = read_yaml(path, "config file") or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of training options, e.g. 'model: gru'")
    values = renamed_options(values)
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known, key=str)
    if unknown:
        raise ConfigError(f"{path}: unknown option '{unknown[0]}'; options are: {', '.join(sorted(known))}")
    return values
