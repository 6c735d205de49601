"""InceptionTime-style convolutional network, actrec's default for short multichannel series.

Multi-scale 1-D convolutions (Fawaz et al., 2020) match or beat recurrent nets on motion and
gesture benchmarks and train fast on CPU. Activations are zeroed on padding steps after every
module, so extra padding never changes the logits of a sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import register_model


@dataclass
class InceptionConfig:
    """filters: channels per branch (4 branches per module); depth: modules, residual every 3.

    kernel_sizes: the three temporal kernels of each module (odd sizes keep alignment).
    """

    filters: int = 32
    depth: int = 6
    kernel_sizes: list[int] = field(default_factory=lambda: [9, 19, 39])
    bottleneck: int = 32
    dropout: float = 0.1

    def __post_init__(self) -> None:
        """Checked when the config is made (`TrainConfig.check`), before any data is read."""
        if not self.kernel_sizes or any(k < 1 or k % 2 == 0 for k in self.kernel_sizes):
            raise ConfigError(f"kernel_sizes must be positive odd numbers, got {self.kernel_sizes}")
        if self.depth < 1 or self.filters < 1:
            raise ConfigError(f"depth and filters must be at least 1, got depth {self.depth}, filters {self.filters}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout {self.dropout}: use a fraction in [0, 1)")


class InceptionModule(nn.Module):
    def __init__(self, in_channels: int, config: InceptionConfig) -> None:
        super().__init__()
        use_bottleneck = in_channels > 1 and config.bottleneck > 0
        mid = config.bottleneck if use_bottleneck else in_channels
        self.bottleneck = nn.Conv1d(in_channels, mid, 1, bias=False) if use_bottleneck else nn.Identity()
        self.convs = nn.ModuleList(
            nn.Conv1d(mid, config.filters, k, padding=k // 2, bias=False) for k in config.kernel_sizes
        )
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.pool_conv = nn.Conv1d(in_channels, config.filters, 1, bias=False)
        self.norm = nn.BatchNorm1d(config.filters * (len(config.kernel_sizes) + 1))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x `[B, C, T]`; mask `[B, 1, T]` is 1 on valid steps. Padding never wins the max-pool."""
        z = self.bottleneck(x)
        pooled = self.pool(x.masked_fill(mask == 0, -1e4)) * mask
        out = torch.cat([conv(z) for conv in self.convs] + [self.pool_conv(pooled)], dim=1)
        return self.act(self.norm(out))


@register_model("inception", InceptionConfig)
class InceptionNet(nn.Module):
    """`[B, T, F]` -> logits `[B, C]`: inception modules, masked global average pooling, linear."""

    def __init__(self, n_features: int, n_classes: int, config: InceptionConfig, schema: Any = None) -> None:
        super().__init__()
        self.config = config
        width = config.filters * (len(config.kernel_sizes) + 1)
        self.modules_list = nn.ModuleList()
        self.shortcuts = nn.ModuleDict()
        in_channels = residual_channels = n_features
        for index in range(config.depth):
            self.modules_list.append(InceptionModule(in_channels, config))
            if index % 3 == 2:
                self.shortcuts[str(index)] = nn.Sequential(
                    nn.Conv1d(residual_channels, width, 1, bias=False), nn.BatchNorm1d(width)
                )
                residual_channels = width
            in_channels = width
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).unsqueeze(1).to(x.dtype)
        h = x.transpose(1, 2) * mask
        residual = h
        for index, module in enumerate(self.modules_list):
            h = module(h, mask) * mask
            key = str(index)
            if key in self.shortcuts:
                h = torch.relu(h + self.shortcuts[key](residual)) * mask
                residual = h
        pooled = h.sum(2) / lengths[:, None].to(h.dtype)
        return self.head(self.dropout(pooled))
