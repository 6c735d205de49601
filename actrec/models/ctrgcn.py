"""CTR-GCN: channel-wise topology refinement graph convolution (Chen et al., ICCV 2021).

Where ST-GCN mixes joints with one fixed adjacency per partition, each CTR-GCN block learns a
shared topology per partition (initialised from the schema's bones) and refines it per sample
and per channel: joint-to-joint relations `tanh(q_u - k_v)` of time-pooled features, lifted to
the output channels and added to the shared topology with a learned scale (0 at start). Time is
mixed by a multi-scale temporal convolution: two dilated branches, a max-pool branch and a
1x1 branch. Blocks follow the published model (stride 2 where the width grows, partitions self /
inward / outward); the default depth and widths are ST-GCN's here (4 blocks, half the paper's
widths), so the two graph models differ only in their layers (CTR-GCN takes 1.3-1.5x ST-GCN's
time per step on a CPU).

The paper's initialisation is tuned for its SGD at learning rate 0.1 on 60 classes and stalls
actrec's Adam at 1e-3, which moves a parameter by about the learning rate per step whatever its
size. So every layer keeps PyTorch's default initialisation instead of the three below (test
top-1 on the embedded dataset after 5 epochs, 4 blocks, He weights, one seed: 0.60 with the
paper's head, 0.76 with its BatchNorm scale, 0.86 with neither; then, over two seeds on half the
windows, 0.72 with He weights and 0.81 with PyTorch's):
- the graph convolution's BatchNorm scale at 1e-6 (each block starts as its residual alone):
  the scale needs hundreds of steps to open the graph path, and the network stays per-joint for
  the first epochs. It starts at 1, as in ST-GCN; the refinement scale alpha still starts at 0.
- a head of std sqrt(2 / classes): with a few classes (0.63 for 5) the first logits are several
  units apart, and Adam takes epochs to shrink them.
- He (fan-out) convolution weights, about 2.5x PyTorch's (sqrt 6 where fan-in = fan-out): most
  convolutions feed a BatchNorm, so only their weights' direction matters, and Adam's
  fixed-size steps turn a 2.5x longer weight vector 2.5x more slowly.

Padding steps (beyond each sample's length) are zeroed before every time-mixing operation and
left out of every time mean, so logits do not depend on what follows a sample's last step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import register_model
from actrec.models.stgcn import SkeletonGraphNet, zero_padding


@dataclass
class CTRGCNConfig:
    """channels: output width of each block; a block that widens the channels (after the first)
        also halves the time steps (stride 2). Default: ST-GCN's (`STGCNConfig.channels`), half
        the paper's widths and 4 of its 10 blocks; the paper's layout at a quarter of its
        widths is [16, 16, 16, 16, 32, 32, 32, 64, 64, 64] (about 1.4x slower per step; on the
        embedded dataset it reached lower accuracy in the same epochs).
    temporal_kernel: odd kernel of the dilated temporal branches (the paper's 5).
    dilations: one temporal branch per dilation (the paper's 1, 2); a max-pool and a 1x1 branch
        are always added, and each branch gets an equal share of the block's channels.
    reduction: the relation features are `max(8, in_channels // reduction)` wide (the paper's
        rule at its widths: 8 for the input block, in / 8 after).
    dropout: before the output layer (the paper's 0).
    """

    channels: list[int] = field(default_factory=lambda: [32, 32, 64, 64])
    temporal_kernel: int = 5
    dilations: list[int] = field(default_factory=lambda: [1, 2])
    reduction: int = 8
    dropout: float = 0.0

    def __post_init__(self) -> None:
        """Checked when the config is made (`TrainConfig.check`), before any data is read."""
        if not self.channels or min(self.channels) < 1:
            raise ConfigError(f"ctrgcn channels {self.channels}: give one positive width per block, e.g. [16, 32, 64]")
        if not self.dilations or min(self.dilations) < 1:
            raise ConfigError(f"ctrgcn dilations {self.dilations}: give positive dilations, e.g. [1, 2]")
        n_branches = len(self.dilations) + 2
        if min(self.channels) < n_branches:
            raise ConfigError(
                f"ctrgcn channels {self.channels}: each block needs at least {n_branches} channels (one per temporal branch)"
            )
        if self.temporal_kernel < 1 or self.temporal_kernel % 2 == 0:
            raise ConfigError(f"ctrgcn temporal_kernel {self.temporal_kernel}: use an odd number of steps, e.g. 5")
        if self.reduction < 1:
            raise ConfigError(f"ctrgcn reduction {self.reduction}: use a positive divisor, e.g. 8")


def directed_partitions(schema: Any) -> np.ndarray:
    """float32 `[3, J, J]`: self links, inward (child -> parent) and outward (parent -> child) bones.

    As in the paper's graph: entry `[k, u, v]` weighs joint v into joint u, and each directed
    partition is normalised by the number of joints each source v sends to (`A D^-1`).
    """
    n_joints = len(schema.joints)
    inward = np.zeros((n_joints, n_joints))
    for parent, child in schema.bones:
        inward[parent, child] = 1.0  # the parent gathers from its child
    outward = inward.T.copy()

    def normalise(adjacency: np.ndarray) -> np.ndarray:
        sends = adjacency.sum(axis=0)
        return adjacency / np.where(sends > 0, sends, 1.0)[None, :]

    return np.stack([np.eye(n_joints), normalise(inward), normalise(outward)]).astype(np.float32)


def masked_time_mean(x: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """`[B, C, T, J]` -> `[B, C, 1, J]`: the mean over each sample's valid steps."""
    total = torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device)).sum(dim=2, keepdim=True)
    return total / lengths.to(x.dtype)[:, None, None, None]


class RefinedGraphConv(nn.Module):
    """`[B, C_in, T, J]` -> `[B, C_out, T, J]`: the partitions' CTR-GCs summed, BatchNorm,
    residual, ReLU.

    Per partition k the paper's CTR-GC is: relations `tanh(q_u - k_v)` of time-pooled 1x1
    projections `[B, R, J, J]`, lifted to `[B, C_out, J, J]` by a 1x1 convolution, scaled by
    alpha and added to the shared topology; output `sum_v topology[c, u, v] * value[c, t, v]`.
    The partitions' 1x1 convolutions run as one (grouped for the lift): the same arithmetic
    in a third of the calls.
    """

    def __init__(self, in_channels: int, out_channels: int, partitions: torch.Tensor, reduction: int) -> None:
        super().__init__()
        self.n_partitions = len(partitions)
        self.out_channels = out_channels
        self.relation_channels = max(8, in_channels // reduction)
        relations = self.n_partitions * self.relation_channels
        self.topology = nn.Parameter(partitions.clone())  # shared topology `[K, J, J]`, learned from the bones
        self.alpha = nn.Parameter(torch.zeros(1))
        self.query = nn.Conv2d(in_channels, relations, kernel_size=1)
        self.key = nn.Conv2d(in_channels, relations, kernel_size=1)
        self.value = nn.Conv2d(in_channels, self.n_partitions * out_channels, kernel_size=1)
        self.lift = nn.Conv2d(relations, self.n_partitions * out_channels, kernel_size=1, groups=self.n_partitions)
        self.norm = nn.BatchNorm2d(out_channels)  # scale 1, not the paper's 1e-6: see the module docstring
        if in_channels == out_channels:
            self.down: nn.Module = nn.Identity()
        else:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        batch, _, steps, joints = x.shape
        # the paper pools after the query/key convolutions; they are linear, so pooling first is the same
        pooled = masked_time_mean(x, mask, lengths)
        query = self.query(pooled).view(batch, -1, joints)  # [B, K*R, J]
        key = self.key(pooled).view(batch, -1, joints)
        relations = torch.tanh(query.unsqueeze(-1) - key.unsqueeze(-2))  # [B, K*R, J(u), J(v)]
        topology = self.lift(relations).view(batch, self.n_partitions, self.out_channels, joints, joints)
        topology = topology * self.alpha + self.topology[None, :, None]  # [B, K, C_out, J(u), J(v)]
        value = self.value(x).view(batch, self.n_partitions, self.out_channels, steps, joints)
        # the sum over partitions k and source joints v as one product ([.., k*v] @ [k*v, u]):
        # a quarter faster on CPU than a product per partition summed afterwards
        value = value.permute(0, 2, 3, 1, 4).reshape(batch, self.out_channels, steps, self.n_partitions * joints)
        topology = topology.permute(0, 2, 1, 4, 3).reshape(batch, self.out_channels, self.n_partitions * joints, joints)
        mixed = value @ topology  # [B, C_out, T, J(u)]
        return torch.relu(self.norm(mixed) + self.down(x))


class MultiScaleTemporalConv(nn.Module):
    """`[B, C_in, T, J]` -> `[B, C_out, ceil(T / stride), J]`: dilated, max-pool and 1x1 branches,
    concatenated. The branches' entry 1x1 convolutions (+ BatchNorm, ReLU) run as one."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, dilations: list[int], stride: int) -> None:
        super().__init__()
        n_branches = len(dilations) + 2
        widths = [out_channels // n_branches] * (n_branches - 1)
        widths.append(out_channels - sum(widths))
        self.widths = widths[:-1]
        self.entry = nn.Sequential(
            nn.Conv2d(in_channels, sum(self.widths), kernel_size=1), nn.BatchNorm2d(sum(self.widths)), nn.ReLU()
        )
        self.temporal = nn.ModuleList()
        for dilation, width in zip(dilations, widths):
            padding = (kernel - 1) * dilation // 2
            self.temporal.append(
                nn.Sequential(
                    nn.Conv2d(
                        width, width, (kernel, 1), stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1)
                    ),
                    nn.BatchNorm2d(width),
                )
            )
        # the entry is >= 0 after ReLU and padding is zeroed, so a zero on padding never wins the max
        self.temporal.append(
            nn.Sequential(nn.MaxPool2d((3, 1), stride=(stride, 1), padding=(1, 0)), nn.BatchNorm2d(widths[-2]))
        )
        self.pointwise = nn.Sequential(
            nn.Conv2d(in_channels, widths[-1], kernel_size=1, stride=(stride, 1)), nn.BatchNorm2d(widths[-1])
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        entries = zero_padding(self.entry(x), mask).split(self.widths, dim=1)
        branches = [temporal(entry) for entry, temporal in zip(entries, self.temporal)]
        return torch.cat([*branches, self.pointwise(x)], dim=1)


class CTRGCNBlock(nn.Module):
    """Refined graph convolution, multi-scale temporal convolution, residual (none in the first block)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        partitions: torch.Tensor,
        config: CTRGCNConfig,
        stride: int,
        residual: bool,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.graph = RefinedGraphConv(in_channels, out_channels, partitions, config.reduction)
        self.temporal = MultiScaleTemporalConv(
            out_channels, out_channels, config.temporal_kernel, config.dilations, stride
        )
        self.residual: nn.Module | None
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x `[B, C_in, T, J]` zero on padding steps; mask bool `[B, 1, T, 1]`; lengths `[B]`."""
        out = self.temporal(zero_padding(self.graph(x, mask, lengths), mask), mask)
        if self.residual is not None:
            out = out + self.residual(x)
        return torch.relu(out)


@register_model("ctrgcn", CTRGCNConfig)
class CTRGCN(SkeletonGraphNet):
    """CTR-GCN: its blocks refine a learned topology per sample (`directed_partitions` to start),
    and the first block has no residual, as in the paper."""

    model = "ctrgcn"

    def graph(self, schema: Any) -> torch.Tensor:
        return torch.from_numpy(directed_partitions(schema))

    def block(
        self, index: int, in_channels: int, out_channels: int, partitions: torch.Tensor, stride: int
    ) -> nn.Module:
        return CTRGCNBlock(in_channels, out_channels, partitions, self.config, stride, residual=index > 0)
