"""2D and 3D ResNet building blocks with torchvision's parameter names.

A state dict from torchvision's `resnet18/34/50` loads into `ResNet2d` (and so into TSN and TSM,
whose temporal parts have no parameters); one from `torchvision.models.video.r3d_18` /
`r2plus1d_18` loads into `VideoResNet`. `width` scales every stage (64 is torchvision's; 8 is a
CPU toy) and depth 10 ([1, 1, 1, 1] basic blocks) exists for tests; names stay the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn

from actrec.errors import ConfigError

# depth -> (block kind, blocks per stage)
DEPTHS: dict[int, tuple[str, list[int]]] = {
    10: ("basic", [1, 1, 1, 1]),
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
}


def stage_plan(depth: int) -> tuple[str, list[int]]:
    if depth not in DEPTHS:
        raise ConfigError(f"ResNet depth {depth} is not one of {', '.join(map(str, DEPTHS))}")
    return DEPTHS[depth]


# ---------------------------------------------------------------------------------------- 2D
class BasicBlock2d(nn.Module):
    """torchvision's BasicBlock; `shift` (no parameters) runs on the residual branch's input only,
    which is where TSM puts its temporal shift."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.shift: nn.Module = nn.Identity()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(self.shift(x))))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck2d(nn.Module):
    """torchvision's Bottleneck (stride on the 3x3 conv, expansion 4), with the same `shift` slot."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.shift: nn.Module = nn.Identity()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(self.shift(x))))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet2d(nn.Module):
    """torchvision's ResNet trunk: images `[N, 3, H, W]` -> pooled features `[N, out_channels]`.

    The classifier `fc` lives here too (TSN/TSM subclasses call it) so names match torchvision.
    """

    def __init__(self, depth: int, width: int, n_classes: int, dropout: float) -> None:
        super().__init__()
        kind, blocks = stage_plan(depth)
        block = BasicBlock2d if kind == "basic" else Bottleneck2d
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes = width
        self.layer1 = self._make_layer(block, width, blocks[0], 1)
        self.layer2 = self._make_layer(block, width * 2, blocks[1], 2)
        self.layer3 = self._make_layer(block, width * 4, blocks[2], 2)
        self.layer4 = self._make_layer(block, width * 8, blocks[3], 2)
        self.out_channels = width * 8 * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.out_channels, n_classes)
        init_weights(self)

    def _make_layer(
        self, block: type[BasicBlock2d] | type[Bottleneck2d], planes: int, count: int, stride: int
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(count - 1)]
        return nn.Sequential(*layers)

    def blocks(self) -> list[nn.Module]:
        return [block for layer in (self.layer1, self.layer2, self.layer3, self.layer4) for block in layer]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


# mmaction2's ResNet / ResNet3d / ResNetTSM names (ConvModule: `.conv` + `.bn`; TSM wraps a block's
# first conv in `.net`) -> torchvision's; its recognizer prefixes `backbone.` and `cls_head.fc_cls.`
_MMACTION2_RENAMES = [
    (r"^backbone\.", ""),
    (r"^cls_head\.fc_cls\.", "fc."),
    (r"\.conv\.net\.", ".conv."),
    (r"^conv1\.conv\.", "conv1."),
    (r"^conv1\.bn\.", "bn1."),
    (r"^(layer\d\.\d+)\.conv(\d)\.conv\.", r"\1.conv\2."),
    (r"^(layer\d\.\d+)\.conv(\d)\.bn\.", r"\1.bn\2."),
    (r"^(layer\d\.\d+)\.downsample\.conv\.", r"\1.downsample.0."),
    (r"^(layer\d\.\d+)\.downsample\.bn\.", r"\1.downsample.1."),
]


def is_mmaction2_layout(state: dict[str, torch.Tensor]) -> bool:
    return any(key.startswith(("backbone.", "cls_head.")) for key in state)


def from_mmaction2(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An mmaction2 TSN / TSM / ResNet3d checkpoint's state dict renamed to torchvision's ResNet
    names (what `ResNet2d` holds; a 3D one then goes through `r3d.inflate_resnet2d`'s renames)."""
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in _MMACTION2_RENAMES:
            key = re.sub(pattern, replacement, key)
        renamed[key] = value
    return renamed


# ---------------------------------------------------------------------------------------- 3D
class Conv3DSimple(nn.Conv3d):
    """A full t x k x k convolution (torchvision's Conv3DSimple; `temporal` 3 for R3D/I3D, 1 for
    SlowFast's slow pathway in early stages)."""

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        midplanes: int | None = None,
        stride: int = 1,
        temporal: int = 3,
        temporal_stride: bool = True,
    ) -> None:
        time_stride = stride if temporal_stride and temporal > 1 else 1
        super().__init__(
            in_planes, out_planes, (temporal, 3, 3), (time_stride, stride, stride), (temporal // 2, 1, 1), bias=False
        )


class Conv2Plus1D(nn.Sequential):
    """R(2+1)D: a spatial 1 x 3 x 3 convolution into `midplanes`, then a temporal 3 x 1 x 1 one."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv3d(in_planes, midplanes, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(midplanes, out_planes, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False),
        )


ConvBuilder = Callable[..., nn.Module]


def midplanes(inplanes: int, planes: int) -> int:
    """torchvision's R(2+1)D width, chosen so (2+1)D has about the parameters of a 3x3x3 conv."""
    return (inplanes * planes * 27) // (inplanes * 9 + 3 * planes)


class BasicBlock3d(nn.Module):
    """torchvision.models.video BasicBlock: conv1 = (conv, BN, ReLU), conv2 = (conv, BN)."""

    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, conv: ConvBuilder, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        mid = midplanes(inplanes, planes)
        self.conv1 = nn.Sequential(conv(inplanes, planes, mid, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv(planes, planes, mid), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class Bottleneck3d(nn.Module):
    """torchvision.models.video Bottleneck: 1x1x1, the builder's conv (strided), 1x1x1 x4."""

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, conv: ConvBuilder, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        mid = midplanes(inplanes, planes)
        self.conv1 = nn.Sequential(
            nn.Conv3d(inplanes, planes, 1, bias=False), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(conv(planes, planes, mid, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv3 = nn.Sequential(nn.Conv3d(planes, planes * 4, 1, bias=False), nn.BatchNorm3d(planes * 4))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


def make_layer3d(
    block: type[BasicBlock3d] | type[Bottleneck3d],
    inplanes: int,
    planes: int,
    count: int,
    conv: ConvBuilder,
    stride: int,
    temporal_stride: bool = True,
) -> tuple[nn.Sequential, int]:
    """One stage of 3D blocks and its output channels; the shortcut strides like the block.

    `conv(in, out, midplanes, stride)` builds the blocks' main convolution (bind kernel options
    with functools.partial); temporal_stride says whether it also strides in time."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        ds_stride = (stride if temporal_stride else 1, stride, stride)
        downsample = nn.Sequential(
            nn.Conv3d(inplanes, planes * block.expansion, 1, ds_stride, bias=False),
            nn.BatchNorm3d(planes * block.expansion),
        )
    layers = [block(inplanes, planes, conv, stride, downsample)]
    layers += [block(planes * block.expansion, planes, conv) for _ in range(count - 1)]
    return nn.Sequential(*layers), planes * block.expansion


def init_weights(module: nn.Module) -> None:
    """torchvision's initialisation: Kaiming for convolutions, BN at (1, 0), small linear layers."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
