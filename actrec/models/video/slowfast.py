"""SlowFast (Feichtenhofer et al., 2019): a slow pathway for appearance, a fast one for motion.

The fast pathway sees every frame of the clip with 1/beta_inv of the channels and temporal
kernels throughout; the slow pathway sees every alpha-th frame with full width and temporal
kernels only in the last two stages. After the stem and each of the first three stages a
time-strided convolution (fusion_kernel x 1 x 1, stride alpha) carries fast features into the
slow pathway, where they are concatenated. Both are pooled, concatenated and classified.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, register_model
from actrec.models.video.resnet import BasicBlock3d, Bottleneck3d, Conv3DSimple, init_weights, make_layer3d, stage_plan


@dataclass
class SlowFastConfig:
    """depth/width as the ResNets (width = slow pathway's first stage); alpha: frame-rate ratio
    fast/slow; beta_inv: channel ratio slow/fast; fusion_kernel: temporal kernel of the laterals."""

    depth: int = 18
    width: int = 64
    alpha: int = 4
    beta_inv: int = 8
    fusion_kernel: int = 5
    dropout: float = 0.5

    def check(self) -> None:
        stage_plan(self.depth)
        if self.alpha < 1 or self.beta_inv < 1 or self.fusion_kernel < 1 or self.fusion_kernel % 2 == 0:
            raise ConfigError("slowfast needs alpha >= 1, beta_inv >= 1 and an odd fusion_kernel")


def lateral(channels: int, kernel: int, alpha: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(channels, 2 * channels, (kernel, 1, 1), (alpha, 1, 1), (kernel // 2, 0, 0), bias=False),
        nn.BatchNorm3d(2 * channels),
        nn.ReLU(inplace=True),
    )


@register_model("slowfast", SlowFastConfig, Capabilities(input_medium="video", sampling="dense"))
class SlowFast(nn.Module):
    """`x [B, 3, T, H, W]` (T fast frames; the slow pathway takes every alpha-th) -> `[B, C]`."""

    def __init__(self, n_classes: int, frames: int, config: SlowFastConfig) -> None:
        super().__init__()
        kind, blocks = stage_plan(config.depth)
        block = BasicBlock3d if kind == "basic" else Bottleneck3d
        self.alpha = config.alpha
        slow_width, fast_width = config.width, max(1, config.width // config.beta_inv)
        self.slow_stem = nn.Sequential(
            nn.Conv3d(3, slow_width, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
            nn.BatchNorm3d(slow_width),
            nn.ReLU(inplace=True),
        )
        self.fast_stem = nn.Sequential(
            nn.Conv3d(3, fast_width, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False),
            nn.BatchNorm3d(fast_width),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))  # the paper's pool1, on both pathways
        self.laterals = nn.ModuleList()
        self.slow_layers = nn.ModuleList()
        self.fast_layers = nn.ModuleList()
        slow_channels, fast_channels = slow_width, fast_width
        for stage, count in enumerate(blocks):
            stride = 1 if stage == 0 else 2
            self.laterals.append(lateral(fast_channels, config.fusion_kernel, config.alpha))
            slow_conv = partial(Conv3DSimple, temporal=1 if stage < 2 else 3, temporal_stride=False)
            fast_conv = partial(Conv3DSimple, temporal=3, temporal_stride=False)
            slow_layer, next_slow = make_layer3d(
                block,
                slow_channels + 2 * fast_channels,
                slow_width * 2**stage,
                count,
                slow_conv,
                stride,
                temporal_stride=False,
            )
            fast_layer, fast_channels = make_layer3d(
                block, fast_channels, fast_width * 2**stage, count, fast_conv, stride, temporal_stride=False
            )
            slow_channels = next_slow
            self.slow_layers.append(slow_layer)
            self.fast_layers.append(fast_layer)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(slow_channels + fast_channels, n_classes)
        self.motion: nn.Module = nn.Identity()  # the input step (models/video/motion.py)
        init_weights(self)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.motion(x)
        slow = self.pool(self.slow_stem(x[:, :, :: self.alpha]))
        fast = self.pool(self.fast_stem(x))
        for fuse, slow_layer, fast_layer in zip(self.laterals, self.slow_layers, self.fast_layers):
            slow = slow_layer(torch.cat([slow, fuse(fast)], 1))
            fast = fast_layer(fast)
        pooled = torch.cat([torch.flatten(self.avgpool(slow), 1), torch.flatten(self.avgpool(fast), 1)], 1)
        return self.fc(self.dropout(pooled))
