"""The fitted feature steps as torch modules, so they trace into an ONNX graph.

`pipeline_module(pipeline)` mirrors `FeaturePipeline.transform` value for value: raw
`x [B, T, ...]` float32 (NaN where a joint was not detected) and `lengths [B]` int64 in,
`[B, T, F]` float32 out. The NumPy steps stay the reference (training, predict and streaming use
them); each module here repeats its step's arithmetic, in the same dtypes, with operations the
ONNX exporter knows (no boolean indexing, no cumulative max, no atan2), and the tests check the
two against each other on data with missing joints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.features.keypoints import (
    BoneVectors,
    CentreScale,
    FillGaps,
    JointAngles,
    MaskMissing,
    SelectJoints,
    Velocity,
)
from actrec.features.modalities import SkeletonModalities
from actrec.features.pipeline import FeaturePipeline, Flatten, Standardize, Step


def valid_steps(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """bool `[B, T]`, True on steps before each sample's length."""
    return torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]


def _shift(x: torch.Tensor, frames: int, fill: float) -> torch.Tensor:
    """`x` moved `frames` steps later along time (negative: earlier), the gap filled with `fill`."""
    pad = [0, 0] * (x.dim() - 2)
    if frames > 0:
        return nn.functional.pad(x, pad + [frames, 0], value=fill)[:, :-frames]
    return nn.functional.pad(x, pad + [0, -frames], value=fill)[:, -frames:]


class TorchSelectJoints(nn.Module):
    index: torch.Tensor

    def __init__(self, step: SelectJoints) -> None:
        super().__init__()
        self.register_buffer("index", torch.tensor(step.index, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return x.index_select(2, self.index)


class TorchFillGaps(nn.Module):
    """`FillGaps` without cumulative max: a gap that can be filled is at most `max_gap` frames
    long, so the nearest observation on each side is found among the `max_gap` frames there;
    whether any observation exists earlier or later at all (which decides `linear`'s
    hold-at-the-edge) comes from a cumulative sum."""

    def __init__(self, step: FillGaps) -> None:
        super().__init__()
        self.max_gap, self.linear, self.coordinate_dims = step.max_gap, step.method == "linear", step.coordinate_dims

    def _nearest(self, x: torch.Tensor, observed: torch.Tensor, direction: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames to the nearest observation of each joint within `max_gap` frames before
        (direction 1) or after (-1), `max_gap + 1` where there is none, and its values."""
        gap = torch.full_like(observed, float(self.max_gap + 1), dtype=torch.float32)
        values = x
        for distance in range(self.max_gap, 0, -1):  # farthest first, so the nearest wins
            seen = _shift(observed.float(), direction * distance, 0.0) > 0
            gap = torch.where(seen, torch.full_like(gap, float(distance)), gap)
            values = torch.where(seen[..., None], _shift(x, direction * distance, 0.0), values)
        return gap, values

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.max_gap == 0:
            return x
        dims = min(self.coordinate_dims, x.shape[-1])
        valid = valid_steps(x, lengths)[:, :, None]
        observed = torch.isfinite(x[..., :dims]).all(-1) & valid  # [B, T, J]
        missing = ~observed & valid
        gap_before, before = self._nearest(x, observed, 1)
        gap_after, after = self._nearest(x, observed, -1)
        held = missing & (gap_before <= self.max_gap)
        if self.linear:
            counts = torch.cumsum(observed.float(), dim=1)
            interior = missing & (counts > 0) & (counts < counts[:, -1:])
            interp = interior & (gap_before + gap_after - 1 <= self.max_gap)
            held = held & ~interior
            weight = (gap_before.double() / (gap_before + gap_after).double())[..., None]
            line = (before.double() + (after - before).double() * weight).float()
            x = torch.where(interp[..., None], line, x)
        return torch.where(held[..., None], before, x)


class TorchCentreScale(nn.Module):
    """`CentreScale` in float64, as the NumPy step computes it."""

    def __init__(self, step: CentreScale) -> None:
        super().__init__()
        self.centre, self.scale_bone, self.mirror_scale_bone = step.centre, step.scale_bone, step.mirror_scale_bone
        self.coordinate_dims, self.diagonal_ratio = step.coordinate_dims, step.diagonal_ratio

    @staticmethod
    def _nanmean(values: torch.Tensor, dim: int) -> torch.Tensor:
        known = ~torch.isnan(values)
        return torch.where(known, values, torch.zeros_like(values)).sum(dim) / known.sum(dim).to(values.dtype)

    @staticmethod
    def _bone_length(coords: torch.Tensor, bone: list[int]) -> torch.Tensor:
        return (coords[:, :, bone[0]] - coords[:, :, bone[1]]).pow(2).sum(-1).sqrt()

    @staticmethod
    def _usable(length: torch.Tensor) -> torch.Tensor:
        return torch.isfinite(length) & (length > 1e-6)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        dims = min(self.coordinate_dims, x.shape[-1])
        coords = x[..., :dims].double()
        origin = self._nanmean(coords[:, :, self.centre], 2)
        lost = ~torch.isfinite(origin).all(-1, keepdim=True)
        origin = torch.where(lost, self._nanmean(coords, 2), origin)
        length = self._bone_length(coords, self.scale_bone)
        if self.mirror_scale_bone is not None:
            length = torch.where(self._usable(length), length, self._bone_length(coords, self.mirror_scale_bone))
        finite = torch.isfinite(coords).all(-1, keepdim=True)
        infinity = torch.full_like(coords, math.inf)
        extent = torch.where(finite, coords, -infinity).amax(2) - torch.where(finite, coords, infinity).amin(2)
        diagonal = extent.pow(2).sum(-1).sqrt()
        length = torch.where(self._usable(length), length, diagonal * self.diagonal_ratio)
        length = torch.where(self._usable(length), length, torch.full_like(length, math.nan))
        scaled = ((coords - origin[:, :, None]) / length[:, :, None, None]).float()
        return torch.cat([scaled, x[..., dims:]], dim=-1)


def _motion(values: torch.Tensor) -> torch.Tensor:
    """Change since the previous frame along time (0 on the first frame), as `modalities._motion`."""
    return torch.cat([torch.zeros_like(values[:, :1]), values[:, 1:] - values[:, :-1]], dim=1)


class TorchVelocity(nn.Module):
    def __init__(self, step: Velocity) -> None:
        super().__init__()
        self.coordinate_dims = step.coordinate_dims

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        coords = x[..., : min(self.coordinate_dims, x.shape[-1])]
        return torch.cat([x, _motion(coords)], dim=-1)


class TorchBoneVectors(nn.Module):
    parents: torch.Tensor

    def __init__(self, step: BoneVectors | SkeletonModalities) -> None:
        super().__init__()
        self.coordinate_dims = step.coordinate_dims
        parents = [p if p >= 0 else joint for joint, p in enumerate(step.parents)]
        self.register_buffer("parents", torch.tensor(parents, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        coords = x[..., : min(self.coordinate_dims, x.shape[-1])]
        return torch.cat([x, coords - coords.index_select(2, self.parents)], dim=-1)


class TorchSkeletonModalities(TorchBoneVectors):
    """Bones as `TorchBoneVectors`, plus the motion of joints and of bones."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        coords = x[..., : min(self.coordinate_dims, x.shape[-1])]
        bones = coords - coords.index_select(2, self.parents)
        return torch.cat([x, _motion(coords), bones, _motion(bones)], dim=-1)


def angle_between(cross: torch.Tensor, dot: torch.Tensor) -> torch.Tensor:
    """`atan2(cross, dot)` for `cross >= 0`, NumPy's value including signed zeros, from `atan`
    (ONNX has no atan2)."""
    negative = (dot < 0) | ((dot == 0) & (1.0 / dot < 0))
    both_zero = (cross == 0) & (dot == 0)
    base = torch.where(both_zero, torch.zeros_like(cross), torch.atan(cross / dot.abs()))
    return torch.where(negative, math.pi - base, base)


class TorchJointAngles(nn.Module):
    a: torch.Tensor  # buffers: the joints of each angle's triple (b the vertex)
    b: torch.Tensor
    c: torch.Tensor

    def __init__(self, step: JointAngles) -> None:
        super().__init__()
        self.coordinate_dims = step.coordinate_dims
        columns: list[Any] = list(zip(*step.triples)) if step.triples else [[], [], []]
        for name, column in zip("abc", columns):
            self.register_buffer(name, torch.tensor(list(column), dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)
        if self.b.numel() == 0:
            return flat
        coords = x[..., : min(self.coordinate_dims, x.shape[-1])]
        centre = coords.index_select(2, self.b)
        u, v = coords.index_select(2, self.a) - centre, coords.index_select(2, self.c) - centre
        dot = (u * v).sum(-1)
        if coords.shape[-1] == 2:
            cross = (u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]).abs()
        else:
            cross = (
                torch.stack(
                    [
                        u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1],
                        u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2],
                        u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0],
                    ],
                    dim=-1,
                )
                .pow(2)
                .sum(-1)
                .sqrt()
            )
        return torch.cat([flat, angle_between(cross, dot)], dim=-1)


class TorchMaskMissing(nn.Module):
    def __init__(self, step: MaskMissing) -> None:
        super().__init__()
        self.presence = step.presence

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.presence == "joint":
            if x.dim() != 4:
                raise ConfigError("mask_missing presence='joint' needs [N, T, J, C] input; put it before joint_angles")
            x = torch.cat([x, torch.isfinite(x[..., :1]).float()], dim=-1)
        flat = x.flatten(2)
        finite = torch.isfinite(flat)
        out = torch.where(finite, flat, torch.zeros_like(flat))
        if self.presence == "frame":
            out = torch.cat([out, finite.any(-1, keepdim=True).float()], dim=-1)
        return out


class TorchFlatten(nn.Module):
    def __init__(self, step: Flatten) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return x.flatten(2)


class TorchStandardize(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, step: Standardize) -> None:
        super().__init__()
        if step.mean is None or step.std is None:
            raise ConfigError("standardize was used before it was fitted; call fit on training data first")
        self.register_buffer("mean", torch.from_numpy(step.mean.copy()), persistent=False)
        self.register_buffer("std", torch.from_numpy(step.std.copy()), persistent=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out = (x.flatten(2) - self.mean) / self.std
        return torch.where(valid_steps(x, lengths)[..., None], out, torch.zeros_like(out))


# each torch step takes its own kind of step
TORCH_STEPS: dict[type[Step], Callable[[Any], nn.Module]] = {
    SelectJoints: TorchSelectJoints,
    FillGaps: TorchFillGaps,
    CentreScale: TorchCentreScale,
    Velocity: TorchVelocity,
    BoneVectors: TorchBoneVectors,
    SkeletonModalities: TorchSkeletonModalities,
    JointAngles: TorchJointAngles,
    MaskMissing: TorchMaskMissing,
    Flatten: TorchFlatten,
    Standardize: TorchStandardize,
}


class TorchPipeline(nn.Module):
    """`FeaturePipeline.transform` as one module: `x [B, T, ...]`, `lengths [B]` -> `[B, T, F]`."""

    def __init__(self, pipeline: FeaturePipeline) -> None:
        super().__init__()
        modules = []
        for step in pipeline.steps:
            build = TORCH_STEPS.get(type(step))
            if build is None:
                raise ConfigError(
                    f"feature step '{step.name}' has no torch form, so it cannot go into an exported graph"
                )
            modules.append(build(step))
        self.steps = nn.ModuleList(modules)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x, lengths)
        return x
