"""Two-stream fusion of clip networks: one member per motion input, probabilities weighted.

TSN's two streams (RGB and optical flow) and their RGB-difference variant each train a network
on their own input and add the class scores. `ClipFusion` holds the members, gives each the
channels of its picture (`motion.clip_sources`: RGB, flow) and returns the log of the weighted
mean of their softmax outputs, so it saves, predicts, streams and exports as one network.
`weights` (one per member, summing to 1) is a saved buffer that `VideoRecognizer.fit` sets from
validation log-loss, as skeleton modalities are weighted (`training.averaging.inverse_loss_average`).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn


class ClipFusion(nn.Module):
    """`[B, 3 x pictures, T, H, W]` -> log of the fused probabilities `[B, C]`."""

    weights: torch.Tensor  # buffer [M], summing to 1

    def __init__(self, members: list[nn.Module], first_channels: list[int], channels: int = 3) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.first_channels, self.channels = list(first_channels), channels
        self.capabilities = getattr(members[0], "capabilities", None)
        self.register_buffer("weights", torch.full((len(members),), 1.0 / len(members)))

    def member_logits(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Member `index`'s logits on its picture's channels of `x`."""
        first = self.first_channels[index]
        return self.members[index](x[:, first : first + self.channels])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        proba = cast(
            torch.Tensor,
            sum(self.weights[i] * torch.softmax(self.member_logits(i, x), dim=1) for i in range(len(self.members))),
        )
        return torch.log(proba.clamp(min=1e-12))
