"""Late fusion of skeleton modalities: one network per modality, probabilities averaged.

The skeleton modalities (joint, bone, joint motion, bone motion; pyskl and CTR-GCN each train one
model per modality, which their papers also call "streams", and add their scores) are channels
of one joint-major feature layout (`actrec.features.modalities`). `ModalityFusion` gives each
member its modality's channels of every joint and returns the log of the weighted mean of the
members' softmax outputs, so it saves, predicts, streams live and exports as one network. With a
single modality it returns that member's logits (what training a member optimises).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import build_model

MODALITIES = ("joint", "bone", "joint_motion", "bone_motion")


def check_modalities(modalities: list[str]) -> None:
    unknown = [modality for modality in modalities if modality not in MODALITIES]
    if unknown:
        raise ConfigError(f"unknown modality '{unknown[0]}'; choose from: {', '.join(MODALITIES)}")
    if len(set(modalities)) != len(modalities):
        raise ConfigError(f"modalities {','.join(modalities)}: name each modality once")


@dataclass
class ModalityFusionConfig:
    """model, options: the network (and its options) trained on each modality.
    modalities: names from `MODALITIES`. channels: per modality, which of each joint's feature
    channels it reads (set by the Recognizer from the feature layout)."""

    model: str = "ctrgcn"
    options: dict[str, Any] = field(default_factory=dict)
    modalities: list[str] = field(default_factory=lambda: ["joint"])
    channels: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_modalities(self.modalities)
        if len(self.channels) != len(self.modalities):
            raise ConfigError(f"{len(self.modalities)} modalities but {len(self.channels)} channel lists")


class ModalityFusion(nn.Module):
    weights: torch.Tensor  # buffer [M], summing to 1

    """`[B, T, J * C]` features -> log of the fused probabilities `[B, n_classes]` (logits for one modality).

    `weights` (one per modality, summing to 1) is a saved buffer: `fit` sets it from validation.
    """

    def __init__(self, n_features: int, n_classes: int, config: ModalityFusionConfig, schema: Any) -> None:
        super().__init__()
        if schema is None:
            raise ConfigError("skeleton modalities need keypoint data with a schema")
        if isinstance(schema, str):
            from actrec.skeletons import get_schema

            schema = get_schema(schema)
        n_joints = len(schema.joints)
        joint_channels = n_features // n_joints
        if n_features % n_joints or any(c < 0 or c >= joint_channels for channels in config.channels for c in channels):
            raise ConfigError(
                f"skeleton modalities: {n_features} features do not hold channels {config.channels} for {n_joints} joints"
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

    def member_logits(self, index: int, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """Member `index`'s logits on its modality's columns of `x` `[B, T, F]`."""
        return self.members[index](x.index_select(2, getattr(self, f"columns_{index}")), lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if len(self.members) == 1:
            return self.member_logits(0, x, lengths)
        proba = cast(
            torch.Tensor,
            sum(
                self.weights[i] * torch.softmax(self.member_logits(i, x, lengths), dim=1)
                for i in range(len(self.members))
            ),
        )
        return torch.log(proba.clamp(min=1e-12))
