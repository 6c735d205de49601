"""3D ResNets: I3D-style inflated 3x3x3 convolutions (R3D) and R(2+1)D, torchvision's names.

`r3d -o conv=inflated` is torchvision's `r3d_18` layout (a 3 x 7 x 7 stem, 3 x 3 x 3 blocks,
space and time halved by stages 2-4); `conv=r2plus1d` is `r2plus1d_18` (each 3D convolution
factored into 1 x 3 x 3 then 3 x 1 x 1). `inflate_resnet2d` turns a 2D ImageNet ResNet state dict
into the inflated layout (I3D's bootstrapping: weights repeated over time and divided by its
length), so a 2D checkpoint can also start a 3D model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, register_model
from actrec.models.video.resnet import (
    BasicBlock3d,
    Bottleneck3d,
    Conv2Plus1D,
    Conv3DSimple,
    init_weights,
    make_layer3d,
    stage_plan,
)

CONVS = ("inflated", "r2plus1d")


@dataclass
class R3DConfig:
    """depth: 10 | 18 | 34 | 50; width: first-stage channels (torchvision 64); conv: inflated | r2plus1d."""

    depth: int = 18
    width: int = 64
    conv: str = "inflated"
    dropout: float = 0.5

    def check(self) -> None:
        stage_plan(self.depth)
        if self.conv not in CONVS:
            raise ConfigError(f"r3d conv '{self.conv}' is not one of: {', '.join(CONVS)}")


def stem(conv: str, width: int) -> nn.Sequential:
    if conv == "inflated":
        return nn.Sequential(
            nn.Conv3d(3, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
        )
    mid = max(1, width * 45 // 64)
    return nn.Sequential(
        nn.Conv3d(3, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, width, (3, 1, 1), 1, (1, 0, 0), bias=False),
        nn.BatchNorm3d(width),
        nn.ReLU(inplace=True),
    )


@register_model("r3d", R3DConfig, Capabilities(input_medium="video", sampling="dense"))
class VideoResNet(nn.Module):
    """`x [B, 3, T, H, W]` -> stem -> 4 stages -> global average pool -> `fc` -> `[B, C]`."""

    def __init__(self, n_classes: int, frames: int, config: R3DConfig) -> None:
        super().__init__()
        kind, blocks = stage_plan(config.depth)
        block = BasicBlock3d if kind == "basic" else Bottleneck3d
        conv = Conv3DSimple if config.conv == "inflated" else Conv2Plus1D
        width = config.width
        self.stem = stem(config.conv, width)
        channels = width
        self.layer1, channels = make_layer3d(block, channels, width, blocks[0], conv, 1)
        self.layer2, channels = make_layer3d(block, channels, width * 2, blocks[1], conv, 2)
        self.layer3, channels = make_layer3d(block, channels, width * 4, blocks[2], conv, 2)
        self.layer4, channels = make_layer3d(block, channels, width * 8, blocks[3], conv, 2)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(channels, n_classes)
        self.motion: nn.Module = nn.Identity()  # the input step (models/video/motion.py)
        init_weights(self)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(self.motion(x))))))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


_RENAMES = [
    (r"^conv1\.weight$", "stem.0.weight"),
    (r"^bn1\.", "stem.1."),
    (r"^(layer\d\.\d+)\.conv(\d)\.weight$", r"\1.conv\2.0.weight"),
    (r"^(layer\d\.\d+)\.bn(\d)\.", r"\1.conv\2.1."),
]


def inflate_resnet2d(state: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A torchvision 2D ResNet state dict renamed into `VideoResNet(conv=inflated)` names, each
    k x k kernel repeated over the target's temporal size and divided by it (I3D's inflation, so
    a still video gives the 2D network's activations). Keys with no 3D counterpart are dropped."""
    inflated: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        for pattern, replacement in _RENAMES:
            name = re.sub(pattern, replacement, name)
        if name not in target:
            continue
        if value.dim() == 4 and target[name].dim() == 5:
            steps = target[name].shape[2]
            value = value.unsqueeze(2).repeat(1, 1, steps, 1, 1) / steps
        inflated[name] = value
    return inflated
