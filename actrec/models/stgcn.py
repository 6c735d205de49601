"""ST-GCN: spatial-temporal graph convolution over a skeleton (Yan, Xiong and Lin, AAAI 2018).

Each block mixes joints along the schema's bones (a graph convolution with a normalised adjacency,
split into partitions as in the paper), then mixes time with a convolution along each joint, with
BatchNorm, ReLU, dropout and a residual path. Logits come from the mean over valid time steps and
all joints. The graph is read from the `Schema` (bones), never from joint indices written here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, cast

import numpy as np
import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, register_model

PARTITIONS = ("uniform", "spatial")


@dataclass
class STGCNConfig:
    """channels: output channels of each block; a block that widens the channels (after the first)
        also halves the time steps (stride 2), as in the paper's 64 -> 128 -> 256 stages. The
        default is half the paper's widths and 4 of its 10 blocks, sized for CPU training on the
        few thousand windows keypoint datasets usually have.
    temporal_kernel: odd number of time steps each temporal convolution spans.
    dropout: inside every block (after the temporal convolution) and before the output layer.
    partition: `spatial` splits each joint's neighbours into itself, those nearer the schema's root
        and those farther (3 weight sets); `uniform` uses one weight set for all neighbours.
    edge_importance: learn a weight per edge and partition on top of the fixed adjacency.
    """

    channels: list[int] = field(default_factory=lambda: [32, 32, 64, 64])
    temporal_kernel: int = 9
    dropout: float = 0.2
    partition: str = "spatial"
    edge_importance: bool = True

    def __post_init__(self) -> None:
        """Checked when the config is made (`TrainConfig.check`), before any data is read."""
        if not self.channels or min(self.channels) < 1:
            raise ConfigError(f"stgcn channels {self.channels}: give one positive width per block, e.g. [64, 64, 128]")
        if self.temporal_kernel < 1 or self.temporal_kernel % 2 == 0:
            raise ConfigError(f"stgcn temporal_kernel {self.temporal_kernel}: use an odd number of steps, e.g. 9")
        if self.partition not in PARTITIONS:
            raise ConfigError(f"unknown partition '{self.partition}'; choose one of: {', '.join(PARTITIONS)}")


def hop_distance(n_joints: int, bones: list[tuple[int, int]], root: int) -> np.ndarray:
    """float `[J]`: bones between each joint and `root` (inf for joints not connected to it)."""
    neighbours: list[list[int]] = [[] for _ in range(n_joints)]
    for a, b in bones:
        neighbours[a].append(b)
        neighbours[b].append(a)
    distance = np.full(n_joints, np.inf)
    distance[root] = 0.0
    frontier = deque([root])
    while frontier:
        joint = frontier.popleft()
        for other in neighbours[joint]:
            if distance[other] == np.inf:
                distance[other] = distance[joint] + 1
                frontier.append(other)
    return distance


def graph_partitions(schema: Any, partition: str = "spatial") -> np.ndarray:
    """float32 `[K, J, J]` adjacency partitions whose sum is `D^-1/2 (A + I) D^-1/2`.

    A is the schema's symmetric bone matrix; the sum is symmetric with spectral radius 1, so
    stacking blocks neither grows nor shrinks features on average. Entry `[k, i, j]` weighs joint
    j's features into joint i. `uniform`: K = 1. `spatial`: K = 3 by hop distance to the root:
    j as far as i (itself, or a same-level neighbour), j nearer the root, j farther from it.
    """
    if partition not in PARTITIONS:
        raise ConfigError(f"unknown partition '{partition}'; choose one of: {', '.join(PARTITIONS)}")
    n_joints = len(schema.joints)
    adjacency = np.zeros((n_joints, n_joints), dtype=np.float64)
    for a, b in schema.bones:
        adjacency[a, b] = adjacency[b, a] = 1.0
    adjacency += np.eye(n_joints)
    inverse_sqrt_degree = 1.0 / np.sqrt(adjacency.sum(axis=1))
    normalised = adjacency * inverse_sqrt_degree[:, None] * inverse_sqrt_degree[None, :]
    if partition == "uniform":
        return normalised[None].astype(np.float32)
    distance = hop_distance(n_joints, list(schema.bones), int(schema.root))
    to_i, from_j = distance[:, None], distance[None, :]
    same = (to_i == from_j) | (np.isinf(to_i) & np.isinf(from_j))
    nearer = ~same & (from_j < to_i)
    farther = ~same & ~nearer
    return np.stack([normalised * same, normalised * nearer, normalised * farther]).astype(np.float32)


def step_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """bool `[B, 1, T, 1]`: True on the valid time steps of each sample."""
    return (torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None])[:, None, :, None]


def zero_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`x` with the steps outside `mask` (bool, broadcast over `x`) set to zero."""
    return torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device))


class STGCNBlock(nn.Module):
    """`[B, C_in, T, J]` -> `[B, C_out, ceil(T / stride), J]`: graph conv, temporal conv, residual."""

    partitions: torch.Tensor  # buffer [K, J, J]

    def __init__(
        self, in_channels: int, out_channels: int, partitions: torch.Tensor, config: STGCNConfig, stride: int
    ) -> None:
        super().__init__()
        self.n_partitions = partitions.shape[0]
        self.register_buffer("partitions", partitions)
        self.edge_importance = nn.Parameter(torch.ones_like(partitions)) if config.edge_importance else None
        self.spatial = nn.Conv2d(in_channels, out_channels * self.n_partitions, kernel_size=1)
        self.spatial_norm = nn.BatchNorm2d(out_channels)
        padding = (config.temporal_kernel - 1) // 2
        self.temporal = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(
                out_channels, out_channels, (config.temporal_kernel, 1), stride=(stride, 1), padding=(padding, 0)
            ),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(config.dropout),
        )
        if in_channels == out_channels and stride == 1:
            self.residual: nn.Module = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)), nn.BatchNorm2d(out_channels)
            )
        self.stride = stride

    def forward(self, x: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """x `[B, C_in, T, J]` zero on padding steps; mask bool `[B, 1, T, 1]` of valid steps.
        lengths: unused (the graph is fixed); taken so every graph block is called alike."""
        adjacency = self.partitions if self.edge_importance is None else self.partitions * self.edge_importance
        batch, _, steps, joints = x.shape
        mixed = self.spatial(x).view(batch, self.n_partitions, -1, steps, joints)
        # sum over partitions k and source joints j as one matrix product ([.., k*j] @ [k*j, i]),
        # about twice as fast on CPU as the equivalent einsum "bkctj,kij->bcti"
        mixed = mixed.permute(0, 2, 3, 1, 4).reshape(batch, -1, steps, self.n_partitions * joints)
        graph = self.spatial_norm(mixed @ adjacency.transpose(1, 2).reshape(self.n_partitions * joints, joints))
        # padding must stay zero before the temporal conv, or it would leak into the last valid steps
        graph = zero_padding(graph, mask)
        return torch.relu(self.temporal(graph) + self.residual(x))


def skeleton_of(model: str, schema: Any, n_features: int) -> tuple[Any, int]:
    """The graph model's Schema (from a name or as given) and its joint count, checking that the
    `n_features` per step are joint-major (joints x channels); shared by stgcn and ctrgcn."""
    if schema is None:
        raise ConfigError(f"model '{model}' needs a skeleton schema (keypoint data [N, T, J, C] with a schema name)")
    if isinstance(schema, str):
        from actrec.skeletons import get_schema

        schema = get_schema(schema)
    n_joints = len(schema.joints)
    if n_features % n_joints:
        raise ConfigError(
            f"model '{model}': {n_features} features per step do not split over the {n_joints} joints of "
            f"schema '{schema.name}'; give joint-major features (joints x channels per joint)"
        )
    return schema, n_joints


class GraphBlock(Protocol):
    """What SkeletonGraphNet reads from its blocks besides calling them."""

    stride: int


class SkeletonGraphNet(nn.Module):
    """`[B, T, J * C]` joint-major keypoint features -> logits `[B, n_classes]`: the frame ST-GCN
    and CTR-GCN share. Features become `[B, C, T, J]`; blocks run in order, a block that widens
    the channels (after the first) halves the time steps; padding steps are zeroed after every
    block, so logits do not depend on what follows a sample's last step; the pooled mean over
    valid steps and joints goes through dropout to a linear head.

    Subclasses set `model` (the registry name, quoted in errors) and build `graph(schema)` (the
    partitions `[K, J, J]`) and `block(index, in_channels, out_channels, partitions, stride)`, a
    module called as `block(h, mask, lengths)` with a `stride` attribute.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(needs_skeleton=True)
    model: ClassVar[str]

    def __init__(self, n_features: int, n_classes: int, config: Any, schema: Any) -> None:
        super().__init__()
        schema, n_joints = skeleton_of(self.model, schema, n_features)
        self.config = config
        self.n_joints = n_joints
        self.joint_channels = n_features // n_joints
        partitions = self.graph(schema)
        self.blocks = nn.ModuleList()
        in_channels = self.joint_channels
        for index, out_channels in enumerate(config.channels):
            stride = 2 if index > 0 and out_channels > in_channels else 1
            self.blocks.append(self.block(index, in_channels, out_channels, partitions, stride))
            in_channels = out_channels
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(in_channels, n_classes)

    def graph(self, schema: Any) -> torch.Tensor:
        raise NotImplementedError

    def block(
        self, index: int, in_channels: int, out_channels: int, partitions: torch.Tensor, stride: int
    ) -> nn.Module:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        batch, steps, _ = x.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.long, device=x.device)
        lengths = lengths.to(x.device).clamp(1, steps)
        h = x.reshape(batch, steps, self.n_joints, self.joint_channels).permute(0, 3, 1, 2)
        mask = step_mask(lengths, steps)
        h = zero_padding(h, mask)
        for block in self.blocks:
            h = block(h, mask, lengths)
            stride: int = cast(GraphBlock, block).stride
            if stride > 1:
                lengths = torch.div(lengths + stride - 1, stride, rounding_mode="floor")
            mask = step_mask(lengths, h.shape[2])
            h = zero_padding(h, mask)
        pooled = h.sum(dim=(2, 3)) / (lengths[:, None].to(h.dtype) * self.n_joints)
        return self.head(self.dropout(pooled))


@register_model("stgcn", STGCNConfig)
class STGCN(SkeletonGraphNet):
    """ST-GCN over the schema's graph: one fixed adjacency per partition (`graph_partitions`)."""

    model = "stgcn"

    def graph(self, schema: Any) -> torch.Tensor:
        return torch.from_numpy(graph_partitions(schema, self.config.partition))

    def block(
        self, index: int, in_channels: int, out_channels: int, partitions: torch.Tensor, stride: int
    ) -> nn.Module:
        return STGCNBlock(in_channels, out_channels, partitions.clone(), self.config, stride)
