"""TSM (Lin et al., 2019): TSN plus a zero-parameter temporal shift in every residual branch.

A fraction 1/shift_div of the channels moves one frame back in time, another 1/shift_div one
frame forward, before each block's first convolution; the 2D ResNet then mixes neighbouring
frames at no extra parameters or FLOPs. Parameter names stay torchvision's ResNet names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, register_model
from actrec.models.video.tsn import TSN, TSNConfig


class TemporalShift(nn.Module):
    """Shift channels along time: `[B*T, C, H, W]` in and out, T fixed at build time."""

    def __init__(self, frames: int, shift_div: int) -> None:
        super().__init__()
        self.frames = frames
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch_frames, channels, height, width = x.shape
        x = x.reshape(batch_frames // self.frames, self.frames, channels, height, width)
        fold = channels // self.shift_div
        zeros = torch.zeros_like(x[:, :1, :fold])
        back = torch.cat([x[:, 1:, :fold], zeros], 1)  # frame t sees t+1
        forward = torch.cat([zeros, x[:, :-1, fold : 2 * fold]], 1)  # frame t sees t-1
        out = torch.cat([back, forward, x[:, :, 2 * fold :]], 2)
        return out.reshape(batch_frames, channels, height, width)


@dataclass
class TSMConfig(TSNConfig):
    """shift_div: 1/shift_div of the channels shift each way (the paper's 8 = 1/4 moved)."""

    shift_div: int = 8

    def check(self) -> None:
        super().check()
        if self.shift_div < 2:
            raise ConfigError(f"tsm shift_div must be at least 2 (half the channels each way), got {self.shift_div}")


@register_model("tsm", TSMConfig, Capabilities(input_medium="video", sampling="segments", min_frames=2))
class TSM(TSN):
    def __init__(self, n_classes: int, frames: int, config: TSMConfig) -> None:
        super().__init__(n_classes, frames, config)
        for block in self.blocks():
            block.shift = TemporalShift(frames, config.shift_div)
