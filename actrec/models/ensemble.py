"""A weighted average of member networks' probabilities, as one `nn.Module`.

`--model auto` fits a kernel model and, when the time budget allows, a neural one, then saves
them as this module: one safetensors file, predicted, streamed and exported like any network.
`forward` returns the log of the averaged probabilities, so `softmax(forward(x))` is exactly the
weighted average of the members' softmax outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, build_model, model_capabilities, register_model


@dataclass
class EnsembleConfig:
    """members: `{"model": name, "options": {...}}` per member, filled in by `fit`;
    weights: one per member (normalised to sum to 1); why: how `fit` chose them."""

    members: list[dict[str, Any]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    why: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for member in self.members:
            if not isinstance(member, dict) or "model" not in member:
                raise ConfigError(f"ensemble member {member!r} needs a 'model' name and optional 'options'")
            if member["model"] == "auto":
                raise ConfigError("an ensemble member cannot itself be 'auto'")
        if self.weights and len(self.weights) != len(self.members):
            raise ConfigError(f"{len(self.members)} ensemble members but {len(self.weights)} weights")


@register_model("auto", EnsembleConfig)
class EnsembleNet(nn.Module):
    """Members' probabilities averaged with fixed weights; `[B, T, F]` -> log-probabilities `[B, C]`."""

    weights: torch.Tensor  # buffer [M], summing to 1

    @classmethod
    def capabilities_for(cls, config: EnsembleConfig) -> Capabilities:
        """What every member can do; it streams per frame when every member does."""
        members = [model_capabilities(m["model"], m.get("options") or {}) for m in config.members]
        blockers = [
            f"member {m['model']}: {c.streaming_note}"
            for m, c in zip(config.members, members)
            if not c.per_frame_streaming
        ]
        return Capabilities(
            needs_skeleton=any(c.needs_skeleton for c in members),
            fixed_length=any(c.fixed_length for c in members),
            per_frame_streaming=not blockers,
            frame_state="" if blockers else "ensemble",
            streaming_note="; ".join(blockers) or Capabilities.streaming_note,
            onnx=all(c.onnx for c in members),
            ensemble=True,
        )

    def __init__(self, n_features: int, n_classes: int, config: EnsembleConfig, schema: Any = None) -> None:
        super().__init__()
        if not config.members:
            raise ConfigError("model 'auto' builds its members during fit; there is nothing to build yet")
        self.config = config
        self.members = nn.ModuleList(
            build_model(m["model"], n_features, n_classes, m.get("options") or {}, schema) for m in config.members
        )
        weights = torch.tensor(config.weights or [1.0] * len(config.members), dtype=torch.float32)
        self.register_buffer("weights", weights / weights.sum(), persistent=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        proba = cast(
            torch.Tensor,
            sum(w * torch.softmax(member(x, lengths), dim=1) for w, member in zip(self.weights, self.members)),
        )
        return torch.log(proba.clamp(min=1e-12))
