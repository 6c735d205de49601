"""TSN (Wang et al., 2016): a 2D ResNet on each sampled frame, class scores averaged over frames.

With one frame per segment TSN sees appearance only; on motion-defined classes it is the
reference a temporal model has to beat. Parameter names are torchvision's ResNet names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from actrec.models.registry import Capabilities, register_model
from actrec.models.video.resnet import ResNet2d, stage_plan


@dataclass
class TSNConfig:
    """depth: 10 | 18 | 34 | 50; width: channels of the first stage (torchvision: 64)."""

    depth: int = 18
    width: int = 64
    dropout: float = 0.5

    def check(self) -> None:
        stage_plan(self.depth)


@register_model("tsn", TSNConfig, Capabilities(input_medium="video", sampling="segments"))
class TSN(ResNet2d):
    """`x [B, 3, T, H, W]` -> every frame through the ResNet -> average consensus -> `[B, C]`."""

    def __init__(self, n_classes: int, frames: int, config: TSNConfig) -> None:
        super().__init__(config.depth, config.width, n_classes, config.dropout)
        self.frames = frames
        self.motion: nn.Module = nn.Identity()  # the input step (models/video/motion.py)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.motion(x)
        batch, channels, steps, height, width = x.shape
        images = x.transpose(1, 2).reshape(batch * steps, channels, height, width)
        scores = self.fc(self.dropout(self.features(images)))
        return scores.reshape(batch, steps, -1).mean(1)
