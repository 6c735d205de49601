"""Random-convolution-kernel classifiers: MiniRocket, MultiRocket and Hydra (Dempster et al.).

The kernels are fixed: MiniRocket's 84 length-9 kernels with weights in {-1, 2} at dilations
spread over the series length, each on a random combination of channels, and Hydra's groups of
random kernels that compete for each time step. Only the biases (quantiles of training
convolution outputs) and a linear head are fitted, in closed form (`actrec.training.kernels`),
so a model trains in seconds on CPU and beats most neural nets on a few hundred to a few
thousand labelled sequences. Everything fitted is a buffer, so the model is an ordinary
`nn.Module`: saved as safetensors, predicted, streamed and exported like the others.

Every pooling reads only each sample's valid steps: padding never changes a sample's features.
Shapes: `x [B, T, F]` float32, `lengths [B]` int64 -> logits `[B, C]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import register_model

KERNEL_LENGTH = 9
# the 84 kernels: positions of the three weights equal to 2 (the other six are -1)
KERNEL_POSITIONS = np.array(list(combinations(range(KERNEL_LENGTH), 3)), dtype=np.int64)
N_KERNELS = len(KERNEL_POSITIONS)
POOLS = ("ppv", "mpv", "mipv", "lspv")
CACHE_ELEMENTS = 600_000  # float32 elements of one pooling chunk (a few MB: inside L2/L3)


@dataclass(frozen=True)
class Capabilities:
    """What a model family can do, checked by the Recognizer before any work.

    closed_form: fitted by `actrec.training.kernels` (biases + linear head), not by gradient steps.
    needs_skeleton: a graph network: keypoint data with a schema, features in a joint-major layout.
    """

    closed_form: bool = False
    needs_skeleton: bool = False


@dataclass
class RocketConfig:
    """num_features: features per series representation (MiniRocket's 10,000 by default).

    pooling: `ppv` (MiniRocket) or any of ppv, mpv, mipv, lspv (MultiRocket uses all four).
    differences: also transform the first-difference series (MultiRocket). hydra_groups:
    0 turns Hydra off; otherwise groups of `hydra_kernels` competing kernels per dilation and
    representation (MultiRocket-Hydra). input_length: set from the training data by `fit`.
    alphas: ridge penalties tried by leave-one-out cross-validation.
    """

    num_features: int = 10_000
    max_dilations: int = 32
    pooling: list[str] | str = "ppv"
    differences: bool = False
    hydra_groups: int = 0
    hydra_kernels: int = 8
    input_length: int = 0
    alphas: list[float] | None = None

    def __post_init__(self) -> None:
        pools = [self.pooling] if isinstance(self.pooling, str) else list(self.pooling)
        unknown = [p for p in pools if p not in POOLS]
        if unknown or not pools:
            raise ConfigError(f"unknown pooling {unknown or pools}; choose from {', '.join(POOLS)}")
        self.pooling = pools
        if self.num_features < N_KERNELS:
            raise ConfigError(f"num_features must be at least {N_KERNELS} (one per kernel), got {self.num_features}")
        if self.max_dilations < 1 or self.hydra_groups < 0 or self.hydra_kernels < 2:
            raise ConfigError("max_dilations must be >= 1, hydra_groups >= 0 and hydra_kernels >= 2")
        if self.hydra_groups % 2:
            raise ConfigError(f"hydra_groups must be even (half per representation), got {self.hydra_groups}")


@dataclass
class MultiRocketConfig(RocketConfig):
    """MultiRocket-Hydra: four poolings on the series and its differences, plus Hydra counts."""

    num_features: int = 2_500
    pooling: list[str] | str = "ppv,mpv,mipv,lspv"
    differences: bool = True
    hydra_groups: int = 64

    def __post_init__(self) -> None:
        if isinstance(self.pooling, str) and "," in self.pooling:
            self.pooling = [p.strip() for p in self.pooling.split(",")]
        super().__post_init__()


def fit_dilations(input_length: int, features_per_kernel: int, max_dilations: int) -> tuple[list[int], list[int]]:
    """Dilations spread exponentially up to the series length, and features (biases) per
    dilation, as in the MiniRocket paper (section 3.2)."""
    true_max = min(features_per_kernel, max_dilations)
    multiplier = features_per_kernel / true_max
    max_exponent = math.log2(max(input_length - 1, 1) / (KERNEL_LENGTH - 1))
    values = np.logspace(0, max(max_exponent, 0.0), true_max, base=2).astype(np.int64)
    dilations, counts = np.unique(values, return_counts=True)
    counts = (counts * multiplier).astype(np.int64)
    remainder = features_per_kernel - int(counts.sum())
    for i in range(remainder):
        counts[i % len(counts)] += 1
    return [int(d) for d in dilations], [int(c) for c in counts]


def bias_quantiles(n: int) -> np.ndarray:
    """Low-discrepancy quantiles {k * golden ratio mod 1} for n biases."""
    return ((np.arange(1, n + 1) * ((math.sqrt(5) + 1) / 2)) % 1).astype(np.float64)


def row_quantiles(values: np.ndarray, lengths: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """`quantiles [K, b]` of each row of `values [K, T]` over its first `lengths[k]` steps, with
    NumPy's default linear interpolation; one sort for all rows instead of K np.quantile calls."""
    steps = values.shape[1]
    lengths = np.clip(lengths, 1, steps)[:, None]
    ordered = np.sort(np.where(np.arange(steps)[None, :] < lengths, values, np.inf), axis=1)
    position = quantiles * (lengths - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, lengths - 1)
    below, above = np.take_along_axis(ordered, low, 1), np.take_along_axis(ordered, high, 1)
    return below + (position - low) * (above - below)


def step_mask(lengths: torch.Tensor, steps: int, margin: int = 0) -> torch.Tensor:
    """bool `[B, T]`: steps in [margin, length - margin); all valid steps where that is empty."""
    t = torch.arange(steps, device=lengths.device)[None, :]
    full = t < lengths[:, None]
    if margin == 0:
        return full
    inner = (t >= margin) & (t < lengths[:, None] - margin)
    long_enough = (lengths > 2 * margin)[:, None]
    return (long_enough & inner) | (~long_enough & full)  # logic, not where: ORT has no bool Where


def longest_run(positive: torch.Tensor) -> torch.Tensor:
    """Length of the longest stretch of ones along the last axis of a 0/1 float tensor.

    Eager mode runs NumPy's maximum.accumulate over "last break before t" (about 4x faster than
    torch.cummax on CPU); ONNX has no cumulative max, so export sorts the positions that break
    runs and takes the widest gap between neighbours. Both give the same integers."""
    steps = positive.shape[-1]
    if not torch.onnx.is_in_onnx_export():
        t = np.arange(steps, dtype=np.float32)
        breaks = t - (t + 1) * positive.detach().cpu().numpy()  # -1 inside a run, t elsewhere
        np.maximum.accumulate(breaks, axis=-1, out=breaks)
        return torch.from_numpy((t - breaks).max(-1)).to(positive.device)
    t = torch.arange(steps, device=positive.device, dtype=positive.dtype)
    breaks = t - (t - steps) * positive  # `steps` inside a run, t elsewhere
    ordered = torch.sort(breaks, dim=-1).values
    previous = torch.cat([torch.full_like(ordered[..., :1], -1.0), ordered[..., :-1]], dim=-1)
    gaps = ordered - previous - 1
    return gaps.amax(-1)


class KernelBank(nn.Module):
    """MiniRocket kernels at every dilation over one representation of the series.

    Buffers per dilation i: `weight_i [84, F, 9]` (the kernel on its channel combination) and
    `bias_i [84, B_i]`. Kernel k at dilation i is zero-padded when (i + k) is even, and pooled
    over the steps its receptive field covers otherwise (MiniRocket's alternating padding).
    """

    def __init__(self, n_channels: int, input_length: int, config: RocketConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.pools = list(config.pooling)
        per_kernel = max(1, config.num_features // N_KERNELS)
        self.dilations, counts = fit_dilations(input_length, per_kernel, config.max_dilations)
        base = -torch.ones(N_KERNELS, KERNEL_LENGTH)
        base[torch.arange(N_KERNELS)[:, None], torch.from_numpy(KERNEL_POSITIONS)] = 2.0
        max_channels = min(n_channels, 9)
        for i, count in enumerate(counts):
            # each kernel reads the sum of 1..9 random channels, weighted towards few channels
            n_used = (2 ** (torch.rand(N_KERNELS, generator=generator) * math.log2(max_channels + 1))).long().clamp(1, max_channels)
            combination = torch.zeros(N_KERNELS, n_channels)
            for k in range(N_KERNELS):
                combination[k, torch.randperm(n_channels, generator=generator)[: n_used[k]]] = 1.0
            self.register_buffer(f"weight_{i}", base[:, None, :] * combination[:, :, None])
            self.register_buffer(f"bias_{i}", torch.zeros(N_KERNELS, count))
        padded = (torch.arange(len(counts))[:, None] + torch.arange(N_KERNELS)[None, :]) % 2 == 0
        self.register_buffer("padded", padded)

    @property
    def n_outputs(self) -> int:
        return sum(getattr(self, f"bias_{i}").shape[1] for i in range(len(self.dilations))) * N_KERNELS * len(self.pools)

    def _convolve(self, x: torch.Tensor, i: int) -> torch.Tensor:
        d = self.dilations[i]
        return F.conv1d(x, getattr(self, f"weight_{i}"), padding=(KERNEL_LENGTH // 2) * d, dilation=d)

    @torch.no_grad()
    def fit_biases(self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator) -> None:
        """Biases = quantiles of one random training example's convolution output per kernel."""
        channels, steps = x.shape[1], x.shape[2]
        for i, d in enumerate(self.dilations):
            bias = getattr(self, f"bias_{i}")
            quantiles = bias_quantiles(N_KERNELS * bias.shape[1]).reshape(N_KERNELS, -1)
            examples = torch.randint(len(x), (N_KERNELS,), generator=generator)
            # kernel k on example k only: one grouped convolution
            stacked = x[examples].reshape(1, N_KERNELS * channels, steps)
            outputs = F.conv1d(stacked, getattr(self, f"weight_{i}"), padding=(KERNEL_LENGTH // 2) * d, dilation=d, groups=N_KERNELS)[0]
            values = row_quantiles(outputs.double().numpy(), lengths[examples].numpy(), quantiles)
            bias.copy_(torch.from_numpy(values))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`x [B, F, T]` (zero beyond each length) -> pooled features `[B, n_outputs]`."""
        steps = x.shape[-1]
        full = step_mask(lengths, steps)
        features = []
        for i, d in enumerate(self.dilations):
            conv = self._convolve(x, i)  # [B, 84, T]
            inner = step_mask(lengths, steps, (KERNEL_LENGTH // 2) * d)
            padded = self.padded[i][None, :, None]
            mask = (padded & full[:, None, :]) | (~padded & inner[:, None, :])  # [B, 84, T]
            bias = getattr(self, f"bias_{i}")
            # the [B, 84, b, T] intermediates are memory-bound: chunks that stay in cache run ~8x
            # faster on CPU; export traces one chunk so the graph keeps its dynamic batch axis
            batch = conv.shape[0]
            chunk = batch if torch.onnx.is_in_onnx_export() else max(1, CACHE_ELEMENTS // (N_KERNELS * bias.shape[1] * steps))
            pooled = [pool(conv[s : s + chunk], bias, mask[s : s + chunk], self.pools) for s in range(0, batch, chunk)]
            features += [torch.cat(values).flatten(1) for values in zip(*pooled)]
        return torch.cat(features, dim=1)


def pool(conv: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor, pools: list[str]) -> list[torch.Tensor]:
    """Pooled values `[B, K, b]` per pool of `conv [B, K, T]` against `bias [K, b]`, on the
    steps where `mask [B, K, T]` is True.

    Float arithmetic throughout (a sign instead of a boolean comparison, a matmul for the index
    sum): about 8x faster on CPU than comparisons reduced as booleans or than sorting."""
    steps = conv.shape[-1]
    above = conv.masked_fill(~mask, -math.inf)[:, :, None, :] - bias[None, :, :, None]  # [B, K, b, T]
    positive = above.sign().clamp_(min=0)
    count = positive.sum(-1)
    out = []
    for name in pools:
        if name == "ppv":
            out.append(count / mask.sum(-1, keepdim=True).to(conv.dtype).clamp(min=1))
        elif name == "mpv":
            out.append(torch.relu(above).sum(-1) / count.clamp(min=1))
        elif name == "mipv":
            index_sum = positive @ torch.arange(steps, device=conv.device, dtype=conv.dtype)
            out.append(torch.where(count > 0, index_sum / count.clamp(min=1), torch.full_like(count, -1.0)))
        else:
            out.append(longest_run(positive))
    return out


class HydraBank(nn.Module):
    """Hydra: per dilation, groups of `k` random kernels compete at every step; a group's
    features count how often each kernel wins (summing its response) and loses.

    Each group reads the sum of a few random channels (`selection_i [g, F]`, counts).
    """

    def __init__(self, n_channels: int, input_length: int, groups: int, kernels: int, generator: torch.Generator) -> None:
        super().__init__()
        self.groups, self.kernels = groups, kernels
        max_exponent = math.log2(max(input_length - 1, 1) / (KERNEL_LENGTH - 1))
        self.dilations = [2**e for e in range(int(max(max_exponent, 0.0)) + 1)]
        per_group = int(np.clip(n_channels // 2, 2, 8)) if n_channels > 1 else 1
        for i in range(len(self.dilations)):
            weight = torch.randn(groups * kernels, 1, KERNEL_LENGTH, generator=generator)
            weight = weight - weight.mean(-1, keepdim=True)
            self.register_buffer(f"weight_{i}", weight / weight.abs().sum(-1, keepdim=True))
            chosen = torch.randint(n_channels, (groups, per_group), generator=generator)
            selection = torch.zeros(groups, n_channels).scatter_add_(1, chosen, torch.ones(groups, per_group))
            self.register_buffer(f"selection_{i}", selection)

    @property
    def n_outputs(self) -> int:
        return len(self.dilations) * 2 * self.groups * self.kernels

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`x [B, F, T]` -> `[B, n_outputs]` (soft win counts, then hard loss counts)."""
        batch, _, steps = x.shape
        mask = step_mask(lengths, steps).to(x.dtype)[:, None, :]
        features = []
        for i, d in enumerate(self.dilations):
            mixed = torch.einsum("gf,bft->bgt", getattr(self, f"selection_{i}"), x)
            z = F.conv1d(mixed, getattr(self, f"weight_{i}"), padding=(KERNEL_LENGTH // 2) * d, dilation=d, groups=self.groups)
            z = z.view(batch, self.groups, self.kernels, steps).transpose(2, 3).contiguous()  # [B, g, T, k]
            best = z.amax(-1)
            worst = z.amin(-1)
            # comparisons instead of argmax + one-hot: ~10x faster on CPU and plain ONNX ops;
            # exact ties (a constant input) count for every tied kernel
            wins = torch.einsum("bgtk,bgt->bgk", (z == best[..., None]).to(x.dtype), best * mask)
            losses = torch.einsum("bgtk,bgt->bgk", (z == worst[..., None]).to(x.dtype), mask.expand_as(worst))
            features += [wins.flatten(1), losses.flatten(1)]
        return torch.cat(features, dim=1)


class RocketNet(nn.Module):
    """Fixed random kernels -> pooled features -> standardise -> linear head (closed form).

    Buffers `mean`, `scale` and `sparse` standardise the features (Hydra's counts go through
    a square root and keep zeros at zero, as in the Hydra paper); `head` holds the ridge
    coefficients already multiplied by the temperature fitted on validation data.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(closed_form=True)

    def __init__(self, n_features: int, n_classes: int, config: RocketConfig, schema: Any = None) -> None:
        super().__init__()
        if config.input_length < 1:
            raise ConfigError("a kernel model needs input_length (set by fit from the training data)")
        self.config = config
        generator = torch.Generator().manual_seed(int(torch.initial_seed()) % (2**63))
        length = config.input_length
        self.banks = nn.ModuleList([KernelBank(n_features, length, config, generator)])
        if config.differences:
            self.banks.append(KernelBank(n_features, max(length - 1, 1), config, generator))
        self.hydra = nn.ModuleList()
        if config.hydra_groups:
            for representation_length in ([length, max(length - 1, 1)]):
                self.hydra.append(HydraBank(n_features, representation_length, config.hydra_groups // 2, config.hydra_kernels, generator))
        n_rocket = sum(bank.n_outputs for bank in self.banks)
        n_hydra = sum(bank.n_outputs for bank in self.hydra)
        self.register_buffer("mean", torch.zeros(n_rocket + n_hydra))
        self.register_buffer("scale", torch.ones(n_rocket + n_hydra))
        self.register_buffer("sparse", torch.cat([torch.zeros(n_rocket, dtype=torch.bool), torch.ones(n_hydra, dtype=torch.bool)]))
        self.head = nn.Linear(n_rocket + n_hydra, n_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def _representations(self, x: torch.Tensor, lengths: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The series `[B, F, T]` zeroed beyond each length, and (if asked) its differences."""
        series = x.transpose(1, 2) * step_mask(lengths, x.shape[1]).to(x.dtype)[:, None, :]
        out = [(series, lengths)]
        if self.config.differences or self.config.hydra_groups:
            short = (lengths - 1).clamp(min=1)
            diff = (series[..., 1:] - series[..., :-1]) * step_mask(short, series.shape[-1] - 1).to(x.dtype)[:, None, :]
            out.append((diff, short))
        return out

    def raw_features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled kernel features `[B, n]` before standardisation (Hydra's after the square root)."""
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        # one zero step more, so a stream's first frame still has a difference series; steps past
        # each length never count, so this changes no feature (and the exported graph does the same)
        x = F.pad(x, (0, 0, 0, 1))
        representations = self._representations(x, lengths)
        parts = [bank(*representations[i]) for i, bank in enumerate(self.banks)]
        parts += [bank(*representations[i]).clamp(min=0).sqrt() for i, bank in enumerate(self.hydra)]
        return torch.cat(parts, dim=1)

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        z = (raw - self.mean) / self.scale
        return torch.where(self.sparse & (raw == 0), torch.zeros_like(z), z)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.standardise(self.raw_features(x, lengths)))


@register_model("minirocket", RocketConfig)
class MiniRocket(RocketNet):
    """MiniRocket (Dempster et al., KDD 2021): PPV of 84 kernels x dilations x biases."""


@register_model("multirocket", MultiRocketConfig)
class MultiRocket(RocketNet):
    """MultiRocket-Hydra (Tan et al. 2022; Dempster et al. 2023): four poolings on the series and
    its first differences, plus Hydra's competing-kernel counts."""
