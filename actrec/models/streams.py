"""Multi-stream late fusion: one network per skeleton stream, probabilities averaged.

The skeleton streams (joint, bone, joint motion, bone motion; pyskl and CTR-GCN each train one
model per stream and add their scores) are channels of one joint-major feature layout
(`actrec.features.streams`). `MultiStreamNet` gives each member its stream's channels of every
joint and returns the log of the weighted mean of the members' softmax outputs, so it saves,
predicts, streams and exports as one network. With a single stream it returns that member's
logits (what training a member optimises).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import build_model

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")


def check_streams(streams: list[str]) -> None:
    unknown = [stream for stream in streams if stream not in STREAMS]
    if unknown:
        raise ConfigError(f"unknown stream '{unknown[0]}'; choose from: {', '.join(STREAMS)}")
    if len(set(streams)) != len(streams):
        raise ConfigError(f"streams {','.join(streams)}: name each stream once")


@dataclass
class MultiStreamConfig:
    """model, options: the network (and its options) trained on each stream.
    streams: names from `STREAMS`. channels: per stream, which of each joint's feature channels
    it reads (set by the Recognizer from the feature layout)."""

    model: str = "ctrgcn"
    options: dict[str, Any] = field(default_factory=dict)
    streams: list[str] = field(default_factory=lambda: ["joint"])
    channels: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_streams(self.streams)
        if len(self.channels) != len(self.streams):
            raise ConfigError(f"{len(self.streams)} streams but {len(self.channels)} channel lists")


class MultiStreamNet(nn.Module):
    weights: torch.Tensor  # buffer [S], summing to 1

    """`[B, T, J * C]` features -> log of the fused probabilities `[B, n_classes]` (logits for one stream).

    `weights` (one per stream, summing to 1) is a saved buffer: `fit` sets it from validation.
    """

    def __init__(self, n_features: int, n_classes: int, config: MultiStreamConfig, schema: Any) -> None:
        super().__init__()
        if schema is None:
            raise ConfigError("skeleton streams need keypoint data with a schema")
        if isinstance(schema, str):
            from actrec.skeletons import get_schema

            schema = get_schema(schema)
        n_joints = len(schema.joints)
        joint_channels = n_features // n_joints
        if n_features % n_joints or any(c < 0 or c >= joint_channels for channels in config.channels for c in channels):
            raise ConfigError(
                f"skeleton streams: {n_features} features do not hold channels {config.channels} for {n_joints} joints"
            )
        self.config = config
        self.members = nn.ModuleList()
        for index, channels in enumerate(config.channels):
            columns = torch.tensor(
                [joint * joint_channels + c for joint in range(n_joints) for c in channels], dtype=torch.long
            )
            self.register_buffer(f"columns_{index}", columns, persistent=False)
            self.members.append(build_model(config.model, len(columns), n_classes, config.options, schema))
        self.register_buffer("weights", torch.full((len(config.channels),), 1.0 / len(config.channels)))

    def stream_logits(self, index: int, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """Member `index`'s logits on its stream's columns of `x` `[B, T, F]`."""
        return self.members[index](x.index_select(2, getattr(self, f"columns_{index}")), lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if len(self.members) == 1:
            return self.stream_logits(0, x, lengths)
        proba = cast(
            torch.Tensor,
            sum(
                self.weights[i] * torch.softmax(self.stream_logits(i, x, lengths), dim=1)
                for i in range(len(self.members))
            ),
        )
        return torch.log(proba.clamp(min=1e-12))
