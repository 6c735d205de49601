"""X3D-S-like (Feichtenhofer, 2020): a small, efficient 3D network for CPU users.

Stages of inverted bottlenecks (1x1x1 expand by 2.25, depthwise 3x3x3, squeeze-excitation on
every other block, Swish, 1x1x1 project), a (1x3x3 + depthwise 5x1x1) stem and a wide head.
Depthwise convolutions keep the FLOPs per clip a fraction of a 3D ResNet's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, register_model
from actrec.models.video.resnet import init_weights


@dataclass
class X3DConfig:
    """width: stem channels (X3D-S: 24; stages double it); depths: blocks per stage (X3D-S:
    3, 5, 11, 7); expansion: inner width factor; head_width: features before the classifier."""

    width: int = 24
    depths: list[int] = field(default_factory=lambda: [3, 5, 11, 7])
    expansion: float = 2.25
    head_width: int = 2048
    dropout: float = 0.5

    def check(self) -> None:
        if self.width < 1 or not self.depths or min(self.depths) < 1 or self.expansion <= 0 or self.head_width < 1:
            raise ConfigError(
                "x3d needs width >= 1, depths of at least 1 block each, expansion > 0 and head_width >= 1"
            )


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(8, channels // 16)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool3d(1),
            nn.Conv3d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv3d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class X3DBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, inner: int, stride: int, excite: bool) -> None:
        super().__init__()
        self.expand = nn.Sequential(
            nn.Conv3d(inplanes, inner, 1, bias=False), nn.BatchNorm3d(inner), nn.ReLU(inplace=True)
        )
        self.depthwise = nn.Sequential(
            nn.Conv3d(inner, inner, 3, (1, stride, stride), 1, groups=inner, bias=False), nn.BatchNorm3d(inner)
        )
        self.excite = SqueezeExcite(inner) if excite else nn.Identity()
        self.act = nn.SiLU()
        self.project = nn.Sequential(nn.Conv3d(inner, planes, 1, bias=False), nn.BatchNorm3d(planes))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or inplanes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv3d(inplanes, planes, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(planes)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.act(self.excite(self.depthwise(self.expand(x)))))
        return self.relu(out + self.shortcut(x))


@register_model("x3d", X3DConfig, Capabilities(input_medium="video", sampling="dense"))
class X3D(nn.Module):
    """`x [B, 3, T, H, W]` -> `[B, C]`; time is never strided, space halves per stage."""

    def __init__(self, n_classes: int, frames: int, config: X3DConfig) -> None:
        super().__init__()
        width = config.width
        self.stem = nn.Sequential(
            nn.Conv3d(3, width, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False),
            nn.Conv3d(width, width, (5, 1, 1), 1, (2, 0, 0), groups=width, bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        channels = width
        for stage, count in enumerate(config.depths):
            planes = width * 2**stage
            for index in range(count):
                inner = max(1, int(round(planes * config.expansion)))
                blocks.append(X3DBlock(channels, planes, inner, 2 if index == 0 else 1, excite=index % 2 == 0))
                channels = planes
        self.stages = nn.Sequential(*blocks)
        head_inner = max(1, int(round(channels * config.expansion)))
        self.head_conv = nn.Sequential(
            nn.Conv3d(channels, head_inner, 1, bias=False), nn.BatchNorm3d(head_inner), nn.ReLU(inplace=True)
        )
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        lin_5 = nn.Linear(head_inner, config.head_width)
        self.head = nn.Sequential(lin_5, nn.ReLU(inplace=True), nn.Dropout(config.dropout))
        self.fc = nn.Linear(config.head_width, n_classes)
        self.motion: nn.Module = nn.Identity()  # the input step (models/video/motion.py)
        init_weights(self)
        # X3D's lin_5 is a 1x1x1 convolution followed by ReLU, initialised like the other
        # convolutions; init_weights' classifier init (std 0.01) made the head's features ~15x
        # smaller than its input (feature std 0.04 from 0.6) and the logits nearly constant
        nn.init.kaiming_normal_(lin_5.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.head_conv(self.stages(self.stem(self.motion(x))))
        return self.fc(self.head(torch.flatten(self.avgpool(x), 1)))
