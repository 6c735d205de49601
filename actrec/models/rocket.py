"""Random-convolution-kernel classifiers: MiniRocket, MultiRocket and Hydra (Dempster et al.),
defined so that a live stream updates them in O(features) per frame.

The kernels are fixed: MiniRocket's 84 length-9 kernels with weights in {-1, 2} at dilations
spread over the series length, each on a random combination of channels, and Hydra's groups of
random kernels that compete for each time step. Only the biases (quantiles of training
convolution outputs) and a linear head are fitted, in closed form (`actrec.training.kernels`),
so a model trains in seconds on CPU and beats most neural nets on a few hundred to a few
thousand labelled sequences. Everything fitted is a buffer, so the model is an ordinary
`nn.Module`: saved as safetensors, predicted, streamed and exported like the others.

Three choices make the features of a sliding window cheap to update (`actrec.stream.kernels`)
and exactly equal to batch predict on that window:
- *Valid convolutions only.* A kernel at dilation d gives an output at step p only when its whole
  receptive field [p - 4d, p + 4d] lies inside the sequence. (MiniRocket zero-pads half its
  kernels; a padded output changes as the window slides, so it cannot be kept.) A new frame then
  adds one output per kernel and dilation and one leaves; PPV, MPV and MIPV are sums and counts
  over the outputs in the window, Hydra's win and loss counts too. Sequences too short for a
  dilation have no output there (PPV and MPV 0, MIPV -1).
- *Exact convolution outputs.* Inputs are rounded to a grid within +-32, biases and Hydra's
  weights lie on grids too, so every convolution output is a short binary fraction that float32
  holds exactly, whatever order a convolution adds its terms in; sums over steps are taken in
  float64, also exact. A stream then computes bit for bit the values batch predict compares with
  the biases (a rounded sum in another order can land on the other side of a bias and move a
  probability by 1e-3), while batch predict keeps float32 convolutions (several times faster on
  CPU than float64). The grid is the finest that keeps those outputs exact (`input_grid`): 2^-14
  for one channel down to 2^-11 from six channels on; 2^-8 with Hydra and in files from before it. A coarse grid
  loses what a standardised channel says below it: ACSF1's appliance power (1,460 steps, a few
  spikes set its scale) keeps 59 of its 473 distinct values per series on 2^-8; top-1 went
  0.875 -> 0.895 on 2^-13 (2 seeds; with one level kernel per dilation 0.895 -> 0.915).
- *Level kernels* (`level_kernels`): MiniRocket's weights sum to zero, so its valid outputs cannot
  see where a channel sits, only how it moves (a wrist's orientation under gravity, a joint's
  height, an appliance's power level). aeon's MiniRocket sees levels through the zeros it pads at
  the edges, which a sliding window cannot keep; kernels that sum their nine taps (all weights 1)
  give the level back with outputs that slide like the others. On generated wrist-IMU windows of
  unseen subjects, one ridge head on the 84 kernels' features reached top-1 0.59, on those plus
  each channel's level 0.79, and on aeon MiniRocket's features 0.80. On univariate data the 42
  level kernels of a dilation are one convolution (the moving sum) with 42 times the biases: a
  fine grid of thresholds on the level, not copies. One per dilation instead lost ArrowHead 0.893
  -> 0.850 (5 seeds) while ACSF1 gained 0.895 -> 0.927 and ItalyPowerDemand 0.963 -> 0.965.
- *`skip_steps`*: the first steps of each sequence (the feature pipeline's context, e.g. the
  velocity of a window's first frame) are never read, so a window's features depend only on frame
  features a stream computes once.

The longest-stretch pool (LSPV) has no cheap sliding form; it remains an option that streams by
re-running the window (its capabilities say so).
Shapes: `x [B, T, F]` float32, `lengths [B]` int64 -> logits `[B, C]`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, register_model

KERNEL_LENGTH = 9
HALF = KERNEL_LENGTH // 2
# the 84 kernels: positions of the three weights equal to 2 (the other six are -1)
KERNEL_POSITIONS = np.array(list(combinations(range(KERNEL_LENGTH), 3)), dtype=np.int64)
N_KERNELS = len(KERNEL_POSITIONS)
POOLS = ("ppv", "mpv", "mipv", "lspv")
SLIDING_POOLS = ("ppv", "mpv", "mipv")  # pools a stream keeps as running sums (module docstring)
INPUT_GRID = 2.0**8  # inputs are multiples of 2^-8 (with Hydra, and in files from before `fine_grid`) ...
INPUT_LIMIT = 32.0  # ... within +-32: MiniRocket outputs then need 21 bits and Hydra's 23 (float32 has 24)
EXACT_BITS = 24  # float32's significand: outputs and their differences with biases must fit it
MAX_CHANNELS = 9  # a kernel sums at most nine channels
WEIGHT_SUM = 12  # the largest sum of a kernel's absolute weights (MiniRocket's: 6 x 1 + 3 x 2; level kernels' 9)
HYDRA_WEIGHT_GRID = 2.0**6
LEVEL_KERNELS = 42  # level kernels per dilation of a new fit on several channels (`level_kernels`); 0 in older files
UNIVARIATE_LEVEL_KERNELS = 16  # ... and on one channel
REACH = 0.5  # the widest kernel of a new fit spans half the window (`RocketConfig.reach`); 1 in older files
LEVEL_EXAMPLES = 16  # training examples whose outputs place a level kernel's biases
FULL_REACH_STEPS = 64  # ... or up to 64 steps: short windows keep kernels that see them whole
CACHE_ELEMENTS = 600_000  # float32 elements of one pooling chunk (a few MB: inside L2/L3)
# from this many biases per kernel, `binned_pool` (cost ~ outputs x log biases) beats `pool` (cost
# ~ outputs x biases): PPV 1.4-4x faster at 16-40 biases on 30-1,400 steps, more with MPV and
# MIPV, slower at 2-8 (scratch benchmark of both on [64, 126, b, T], one thread); both give the
# same numbers, so this only moves time
BINNED_MIN_BIASES = 12


@dataclass
class RocketConfig:
    """num_features: features per series representation and pool (MiniRocket's 10,000 by default).

    pooling: `ppv` (MiniRocket) or any of ppv, mpv, mipv, lspv (lspv cannot stream frame by frame).
    differences: also transform the first-difference series (MultiRocket). hydra_groups:
    0 turns Hydra off; otherwise groups of `hydra_kernels` competing kernels per dilation and
    representation (MultiRocket-Hydra). input_length: set from the training data by `fit`.
    skip_steps: leading steps never read (set by `fit` to the feature pipeline's context frames).
    alphas: ridge penalties to choose from (by leave-one-out, or by cross-validation over whole
    groups when the data has groups: `actrec.training.kernels.grouped_penalty`). memory_mb:
    kernel features a fit holds in memory at most; past it they go to a temporary file (`actrec.training.feature_store`), so
    memory stays flat however many samples are trained on. left_pad: a sample shorter than the
    window (`input_length + skip_steps`) reads as zeros (the input's mean) before its first step,
    as a stream that has seen a window of zero rows reads its first frames; without it, valid
    convolutions over a 7-step sample of a 29-step set give no output at all (JapaneseVowels:
    top-1 0.87 against aeon MiniRocket's 0.98 on zero-padded input). Set by `fit` for new models;
    model files from before it keep their masked short windows. level_kernels: kernels per
    dilation that sum their nine taps (module docstring), each on its own random channels, after
    the 84 MiniRocket kernels; also set by `fit` for new models (0 in files from before them).
    reach: the widest receptive field as a share of the series length. MiniRocket lets it span
    the whole series, where its zero padding still gives every position an output; with valid
    convolutions a kernel spanning 8d + 1 of T steps has T - 8d outputs, so the widest dilations
    pool a handful of values (ACSF1, 1,460 steps: 4 outputs at dilation 182). At half the series
    every kernel pools at least half the window (OSULeaf top-1 0.94 -> 0.96, ACSF1 0.88 -> 0.90
    with 12 level kernels, 2 seeds). Windows of up to 64 steps keep kernels that span them whole,
    and longer ones kernels of 64 steps at least: on the sets of 24 to 50 steps the whole span
    was the better (JapaneseVowels, SensorWindowsShort, KeypointWindows: 0.5 to 1.5 points).
    Set to 0.5 by `fit` for new models, 1 in older files. fine_grid: inputs on the finest grid
    that keeps every output exact (`input_grid`, module docstring) rather than 2^-8; set by `fit`
    for new models, off in older files.
    """

    num_features: int = 10_000
    max_dilations: int = 32
    pooling: list[str] | str = "ppv"
    differences: bool = False
    hydra_groups: int = 0
    hydra_kernels: int = 8
    input_length: int = 0
    skip_steps: int = 0
    alphas: list[float] | None = None
    memory_mb: int = 2048
    left_pad: bool = False
    level_kernels: int = 0
    reach: float = 1.0
    fine_grid: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.pooling, str):
            self.pooling = [p.strip() for p in self.pooling.split(",")]
        pools = list(self.pooling)
        unknown = [p for p in pools if p not in POOLS]
        if unknown or not pools:
            raise ConfigError(f"unknown pooling {unknown or pools}; choose from {', '.join(POOLS)}")
        self.pooling = pools
        if self.num_features < N_KERNELS:
            raise ConfigError(f"num_features must be at least {N_KERNELS} (one per kernel), got {self.num_features}")
        if (
            self.max_dilations < 1
            or self.hydra_groups < 0
            or self.hydra_kernels < 2
            or self.skip_steps < 0
            or self.level_kernels < 0
        ):
            raise ConfigError(
                "max_dilations must be >= 1, hydra_groups >= 0, hydra_kernels >= 2, skip_steps >= 0 and level_kernels >= 0"
            )
        if not 0.0 < self.reach <= 1.0:
            raise ConfigError(f"reach must be in (0, 1] (a share of the series length), got {self.reach}")
        if self.memory_mb < 0:
            raise ConfigError(f"memory_mb must be >= 0 (0 keeps no features in memory), got {self.memory_mb}")
        if self.hydra_groups % 2:
            raise ConfigError(f"hydra_groups must be even (half per representation), got {self.hydra_groups}")


@dataclass
class MultiRocketConfig(RocketConfig):
    """MultiRocket-Hydra: PPV, MPV and MIPV on the series and its differences, plus Hydra counts
    (the paper's fourth pool, lspv, is an option: `pooling=ppv,mpv,mipv,lspv`)."""

    num_features: int = 2_500
    pooling: list[str] | str = "ppv,mpv,mipv"
    differences: bool = True
    hydra_groups: int = 64


def fit_dilations(
    input_length: int, features_per_kernel: int, max_dilations: int, reach: float = 1.0
) -> tuple[list[int], list[int]]:
    """Dilations spread exponentially until a kernel spans `reach` of the series length (or
    `FULL_REACH_STEPS`, whichever is longer), and features (biases) per dilation, as in the
    MiniRocket paper (section 3.2)."""
    true_max = min(features_per_kernel, max_dilations)
    multiplier = features_per_kernel / true_max
    span = max(int((input_length - 1) * reach), min(input_length - 1, FULL_REACH_STEPS))
    max_exponent = math.log2(max(span, 1) / (KERNEL_LENGTH - 1))
    values = np.logspace(0, max(max_exponent, 0.0), true_max, base=2).astype(np.int64)
    dilations, counts = np.unique(values, return_counts=True)
    counts = (counts * multiplier).astype(np.int64)
    remainder = features_per_kernel - int(counts.sum())
    for i in range(remainder):
        counts[i % len(counts)] += 1
    return [int(d) for d in dilations], [int(c) for c in counts]


def hydra_dilations(input_length: int) -> list[int]:
    """Powers of two up to the length over a kernel's span (the Hydra paper's choice)."""
    max_exponent = math.log2(max(input_length - 1, 1) / (KERNEL_LENGTH - 1))
    return [2**e for e in range(int(max(max_exponent, 0.0)) + 1)]


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


def step_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """bool `[B, T]`: the steps before each length."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def valid_outputs(lengths: torch.Tensor, dilation: int) -> torch.Tensor:
    """How many valid convolution outputs a sequence of `lengths` steps has at `dilation`."""
    return (lengths - (KERNEL_LENGTH - 1) * dilation).clamp(min=0)


def input_grid(n_channels: int, config: RocketConfig) -> float:
    """Steps per unit of the grid a network puts its inputs on (module docstring). With
    `fine_grid`, the largest power of two at which a kernel's output (up to `MAX_CHANNELS` channels
    within +-`INPUT_LIMIT`, +-2x that on the differences, times `WEIGHT_SUM`) and its difference
    with a bias stay below 2^`EXACT_BITS` grid steps; Hydra's responses (weights on a 2^-6 grid, up
    to eight channels) keep `INPUT_GRID`, as do older files."""
    if not config.fine_grid or config.hydra_groups:
        return INPUT_GRID
    bound = WEIGHT_SUM * min(n_channels, MAX_CHANNELS) * INPUT_LIMIT * (2 if config.differences else 1)
    return 2.0 ** math.floor(math.log2(2 ** (EXACT_BITS - 1) / bound))


def on_input_grid(x: torch.Tensor, grid: float) -> torch.Tensor:
    """Inputs as the kernels read them (module docstring): multiples of 1 / `grid` within +-32."""
    return torch.clamp(torch.round(x * grid) / grid, -INPUT_LIMIT, INPUT_LIMIT)


def level_kernels(n_channels: int) -> int:
    """Level kernels per dilation for a new fit on `n_channels` input channels. Several channels
    give each level kernel its own random channel mix, so 42 cover many mixes. On one channel
    every level kernel sums the same nine taps: they are one moving sum with 42 times the biases,
    and those thresholds on the level outweigh the 84 shape kernels in the ridge head. 16 of
    them on univariate sets (`bench/accuracy.py`, 5 seeds): ACSF1 0.900 -> 0.914 (aeon
    MiniRocket 0.916), ItalyPowerDemand 0.962 -> 0.965 (0.965), ArrowHead 0.893 -> 0.875
    (0.859), the other five within 0.01; on the multivariate sets 16 lost JapaneseVowels
    0.984 -> 0.981 and KeypointWindows 0.914 -> 0.902, so they keep 42."""
    return UNIVARIATE_LEVEL_KERNELS if n_channels == 1 else LEVEL_KERNELS


def level_signs(level_kernels: int, n_channels: int, generator: torch.Generator) -> torch.Tensor:
    """`[level_kernels, n_channels]` signs: every other level kernel adds or subtracts each channel
    it reads at random (+1 or -1), the others add them all. With sums alone the levels of a vector
    quantity (gravity on a wrist's three accelerometer axes) are seen only
    along the all-positive mixes (x, x + y, x + y + z, ...); signed mixes also see x - z, so the
    ridge head gets the direction. Generated wrist-IMU windows (bench/accuracy.py SensorWindows,
    5 seeds): 0.799 -> 0.813 with half signed, 0.809 with all of them signed, which also lost
    ground on JapaneseVowels (0.984 -> 0.981).

    Only for inputs of at most `MAX_CHANNELS` channels, where a mix can hold all of a sensor's
    axes. Dozens of channels are mostly not one vector (keypoint coordinates and velocities of
    different joints): there the signed mixes lost events on tests/stream/test_default_rules.py's
    keypoint sessions (segment precision 0.62-0.71 -> 0.50-0.62 on three held-out sessions, the
    model's seed 0) and left JapaneseVowels (12 channels) at 0.984."""
    signs = torch.where(torch.rand(level_kernels, n_channels, generator=generator) < 0.5, -1.0, 1.0)
    signs[::2] = 1.0
    return signs


def kernel_taps(level_kernels: int) -> tuple[np.ndarray, np.ndarray]:
    """The kernels of a bank as `three x (the taps at positions) + nine x (all nine taps)`:
    positions `[K, 3]` and the two coefficients `[K, 2]`. MiniRocket's 84 (-1 at six taps, 2 at
    three) are (3, -1); level kernels (all weights 1) are (0, 1), their positions unused."""
    positions = np.concatenate([KERNEL_POSITIONS, np.tile(np.arange(3), (level_kernels, 1))])
    coefficients = np.concatenate([np.tile([3.0, -1.0], (N_KERNELS, 1)), np.tile([0.0, 1.0], (level_kernels, 1))])
    return positions, coefficients


def kernel_weights(level_kernels: int) -> torch.Tensor:
    """`[84 + level_kernels, 9]` float32: MiniRocket's -1 everywhere and 2 at each kernel's three
    positions, then the level kernels' nine ones."""
    positions, coefficients = kernel_taps(level_kernels)
    chosen = np.zeros((len(positions), KERNEL_LENGTH))
    np.put_along_axis(chosen, positions, 1.0, axis=1)
    return torch.from_numpy(coefficients[:, :1] * chosen + coefficients[:, 1:]).float()


def longest_run(positive: torch.Tensor) -> torch.Tensor:
    """Length of the longest stretch of ones along the last axis of a 0/1 float tensor.

    Eager mode runs NumPy's maximum.accumulate over "last break before t" (about 4x faster than
    torch.cummax on CPU); ONNX has no cumulative max, so export sorts the positions that break
    runs and takes the widest gap between neighbours. Both give the same integers."""
    steps = positive.shape[-1]
    if not torch.onnx.is_in_onnx_export():
        t = np.arange(steps, dtype=np.float64)
        breaks = t - (t + 1) * positive.detach().cpu().numpy()  # -1 inside a run, t elsewhere
        np.maximum.accumulate(breaks, axis=-1, out=breaks)
        return torch.from_numpy((t - breaks).max(-1, initial=0.0)).to(positive.device, positive.dtype)
    positions = torch.arange(steps, device=positive.device, dtype=positive.dtype)
    breaks_t = positions - (positions - steps) * positive  # `steps` inside a run, t elsewhere
    ordered = torch.sort(breaks_t, dim=-1).values
    previous = torch.cat([torch.full_like(ordered[..., :1], -1.0), ordered[..., :-1]], dim=-1)
    gaps = ordered - previous - 1
    return gaps.amax(-1)


def pool(
    conv: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor, pools: list[str], first_centre: int = 0
) -> list[torch.Tensor]:
    """Pooled values `[B, K, b]` float64 per pool of `conv [B, K, T]` against `bias [K, b]`, on
    the outputs where `mask [B, T]` is True. MIPV is the mean step of the positive outputs, output
    t being centred on step `first_centre + t` of the series. Sums are float64 (exact for
    outputs and biases on their grids)."""
    steps = conv.shape[-1]
    above = conv.masked_fill(~mask[:, None, :], -math.inf)[:, :, None, :] - bias[None, :, :, None]  # [B, K, b, T]
    positive = (above > 0).to(conv.dtype)
    count = positive.sum(-1).to(torch.float64)  # float32 counts are exact below 2^24
    out = []
    for name in pools:
        if name == "ppv":
            out.append(count / mask.sum(-1).to(torch.float64).clamp(min=1)[:, None, None])
        elif name == "mpv":
            out.append(above.clamp(min=0).sum(-1, dtype=torch.float64) / count.clamp(min=1))
        elif name == "mipv":
            # float32 sums of steps are exact while they stay below 2^24
            exact = conv.dtype if steps * (steps + first_centre) < 2**24 else torch.float64
            centres = torch.arange(steps, device=conv.device, dtype=exact) + first_centre
            index_sum = (positive.to(exact) @ centres).to(torch.float64)
            out.append(torch.where(count > 0, index_sum / count.clamp(min=1), torch.full_like(count, -1.0)))
        else:
            out.append(longest_run(positive))
    return out


def binned_pool(
    conv: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor, pools: list[str], first_centre: int = 0
) -> list[torch.Tensor]:
    """`pool` for PPV, MPV and MIPV without the `[B, K, b, T]` comparison: each output is put in
    the bin of how many of its kernel's biases lie below it (a binary search), so the outputs
    above bias j are the bins past j, and counts and sums over them are reversed cumulative sums
    of the bins. The sums are float64 of values on their grids, exact in any order, so this
    returns the same numbers as `pool`; it is faster from `BINNED_MIN_BIASES` biases per kernel."""
    batch, kernels, steps = conv.shape
    n_biases = bias.shape[1]
    ordered, order = bias.sort(-1)
    rank = torch.searchsorted(ordered.expand(batch, kernels, n_biases).contiguous(), conv.contiguous())
    rank = rank.masked_fill(~mask[:, None, :], 0)  # bin 0 lies above no bias: masked outputs count nowhere
    back = order.argsort(-1).expand(batch, kernels, n_biases)

    def above(values: torch.Tensor) -> torch.Tensor:
        """`[B, K, b]`: the sum of `values [B, K, T]` over the outputs above each bias."""
        bins = torch.zeros(batch, kernels, n_biases + 1, dtype=torch.float64, device=conv.device)
        bins.scatter_add_(-1, rank, values)
        return bins.flip(-1).cumsum(-1).flip(-1)[..., 1:].gather(-1, back)

    count = above(torch.ones_like(conv, dtype=torch.float64))
    out = []
    for name in pools:
        if name == "ppv":
            out.append(count / mask.sum(-1).to(torch.float64).clamp(min=1)[:, None, None])
        elif name == "mpv":
            total = above(conv.to(torch.float64))
            out.append((total - count * bias.to(torch.float64)) / count.clamp(min=1))
        else:  # mipv
            centres = torch.arange(steps, device=conv.device, dtype=torch.float64) + first_centre
            index_sum = above(centres.expand(batch, kernels, steps))
            out.append(torch.where(count > 0, index_sum / count.clamp(min=1), torch.full_like(count, -1.0)))
    return out


class KernelBank(nn.Module):
    """MiniRocket kernels (and level kernels) at every dilation over one representation of the series.

    Buffers per dilation i: `combination_i [K, F]` (which channels kernel k sums, 0/1; a level kernel
    subtracts some, -1) and
    `bias_i [K, b_i]` (on the input grid), K = 84 + level_kernels. Output layout, dilation-major:
    for each dilation, for each pool, `[K, b_i]` flattened.
    """

    weights: torch.Tensor  # buffer [K, 9]

    def __init__(
        self,
        n_channels: int,
        input_length: int,
        config: RocketConfig,
        generator: torch.Generator,
        level_kernels: int = 0,
        grid: float = INPUT_GRID,
    ) -> None:
        super().__init__()
        self.pools = list(config.pooling)
        self.grid = grid
        per_kernel = max(1, config.num_features // N_KERNELS)
        self.dilations, counts = fit_dilations(input_length, per_kernel, config.max_dilations, config.reach)
        self.level_kernels = level_kernels
        self.n_kernels = N_KERNELS + level_kernels
        max_channels = min(n_channels, MAX_CHANNELS)
        for i, count in enumerate(counts):
            # each kernel reads the sum of 1..9 random channels, weighted towards few channels
            n_used = (
                (2 ** (torch.rand(self.n_kernels, generator=generator) * math.log2(max_channels + 1)))
                .long()
                .clamp(1, max_channels)
            )
            combination = torch.zeros(self.n_kernels, n_channels)
            for k in range(self.n_kernels):
                combination[k, torch.randperm(n_channels, generator=generator)[: n_used[k]]] = 1.0
            if level_kernels and 1 < n_channels <= MAX_CHANNELS:  # a sensor's axes: signed mixes (`level_signs`)
                combination[N_KERNELS:] *= level_signs(level_kernels, n_channels, generator)
            self.register_buffer(f"combination_{i}", combination)
            self.register_buffer(f"bias_{i}", torch.zeros(self.n_kernels, count))
        self.register_buffer("weights", kernel_weights(level_kernels), persistent=False)

    @property
    def n_outputs(self) -> int:
        return (
            sum(getattr(self, f"bias_{i}").shape[1] for i in range(len(self.dilations)))
            * self.n_kernels
            * len(self.pools)
        )

    def convolve(self, series: torch.Tensor, i: int) -> torch.Tensor:
        """Valid outputs `[B, K, T - 8d]` of `series [B, F, T]` at dilation i: one dense
        convolution whose weights are the kernel on its channels (exact on the input grid)."""
        weight = self.weights[:, None, :] * self.get_buffer(f"combination_{i}")[:, :, None]  # [K, F, 9]
        return F.conv1d(series, weight, dilation=self.dilations[i])

    @torch.no_grad()
    def fit_biases(
        self,
        lengths: torch.Tensor,
        steps: int,
        series_of: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator,
    ) -> None:
        """Biases = quantiles of one random training example's valid outputs per kernel (drawn
        among the examples long enough to have outputs at that dilation); level kernels' from
        several examples together (`_level_biases`).

        lengths: this representation's lengths `[N]` for every training example and `steps` its
        padded length; `series_of(index)` gives the series `[k, F, steps]` of the examples drawn,
        so only K examples per dilation are ever featurised, whatever N is."""
        for i, d in enumerate(self.dilations):
            bias = getattr(self, f"bias_{i}")
            valid = valid_outputs(lengths, d)
            eligible = torch.nonzero(valid > 0).flatten()
            if steps <= (KERNEL_LENGTH - 1) * d or len(eligible) == 0:
                bias.zero_()
                continue
            quantiles = bias_quantiles(self.n_kernels * bias.shape[1]).reshape(self.n_kernels, -1)
            # one example drawn per kernel; the level kernels' draws go unused (`_level_biases`
            # places theirs), kept so a seed gives the biases it always gave
            examples = eligible[torch.randint(len(eligible), (self.n_kernels,), generator=generator)][:N_KERNELS]
            weight = self.weights[:, None, :] * self.get_buffer(f"combination_{i}")[:, :, None]  # [K, F, 9]
            # MiniRocket kernel k on example k only: one grouped convolution
            stacked = series_of(examples).reshape(1, -1, steps)
            outputs = F.conv1d(stacked, weight[:N_KERNELS], dilation=d, groups=N_KERNELS)[0]
            values = row_quantiles(outputs.double().numpy(), valid[examples].numpy(), quantiles[:N_KERNELS])
            if self.level_kernels:
                level = self._level_biases(
                    weight[N_KERNELS:], d, valid, eligible, series_of, quantiles[N_KERNELS:], generator
                )
                values = np.concatenate([values, level])
            bias.copy_(torch.from_numpy(np.round(values * self.grid) / self.grid))

    def _level_biases(
        self,
        weight: torch.Tensor,
        d: int,
        valid: torch.Tensor,
        eligible: torch.Tensor,
        series_of: Callable[[torch.Tensor], torch.Tensor],
        quantiles: np.ndarray,
        generator: torch.Generator,
    ) -> np.ndarray:
        """Level kernels' biases: quantiles of their outputs over `LEVEL_EXAMPLES` examples together.
        A level differs far more between examples (one person's wrist held higher) than within
        one, so one example's quantiles would put every bias at that example's level."""
        examples = eligible[torch.randint(len(eligible), (min(LEVEL_EXAMPLES, len(eligible)),), generator=generator)]
        outputs = F.conv1d(series_of(examples), weight, dilation=d).double()  # [m, L, T']
        inside = torch.arange(outputs.shape[-1])[None, :] < valid[examples][:, None]  # [m, T']
        pooled = outputs.transpose(0, 1)[:, inside].numpy()  # [L, the m examples' valid outputs]
        return row_quantiles(pooled, np.full(len(weight), pooled.shape[1]), quantiles)

    def forward(self, series: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`series [B, F, T]` (on the input grid) -> pooled features `[B, n_outputs]` float64."""
        batch, steps = series.shape[0], series.shape[-1]
        features = []
        for i, d in enumerate(self.dilations):
            bias = getattr(self, f"bias_{i}")
            if steps <= (KERNEL_LENGTH - 1) * d:  # no sequence in this batch reaches this dilation
                empty = torch.zeros(batch, self.n_kernels * bias.shape[1], dtype=torch.float64, device=series.device)
                features += [empty - 1.0 if name == "mipv" else empty for name in self.pools]
                continue
            conv = self.convolve(series, i)  # [B, K, T - 8d]
            mask = step_mask(valid_outputs(lengths, d), conv.shape[-1])
            if bias.shape[1] >= BINNED_MIN_BIASES and "lspv" not in self.pools and not torch.onnx.is_in_onnx_export():
                features += [values.flatten(1) for values in binned_pool(conv, bias, mask, self.pools, HALF * d)]
                continue
            # the [B, 84, b, T] intermediates are memory-bound: chunks that stay in cache run
            # several times faster on CPU; export traces one chunk so the graph keeps a dynamic batch
            chunk = (
                batch
                if torch.onnx.is_in_onnx_export()
                else max(1, CACHE_ELEMENTS // (self.n_kernels * bias.shape[1] * conv.shape[-1]))
            )
            pooled = [
                pool(conv[s : s + chunk], bias, mask[s : s + chunk], self.pools, HALF * d)
                for s in range(0, batch, chunk)
            ]
            features += [torch.cat(values).flatten(1) for values in zip(*pooled)]
        return torch.cat(features, dim=1)


class HydraBank(nn.Module):
    """Hydra: per dilation, groups of `k` random kernels compete at every valid step; a group's
    features count how often each kernel wins (summing its response) and loses.

    Buffers per dilation i: `selection_i [g, F]` (how often each channel is summed into the
    group's input) and `weight_i [g, k, 9]` (on a 2^-6 grid, so responses are exact: module
    docstring). Output layout: per dilation, wins `[g, k]` then
    losses `[g, k]`, flattened.
    """

    def __init__(
        self, n_channels: int, input_length: int, groups: int, kernels: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.groups, self.kernels = groups, kernels
        self.dilations = hydra_dilations(input_length)
        per_group = int(np.clip(n_channels // 2, 2, 8)) if n_channels > 1 else 1
        for i in range(len(self.dilations)):
            weight = torch.randn(groups * kernels, KERNEL_LENGTH, generator=generator)
            weight = weight - weight.mean(-1, keepdim=True)
            weight = torch.round(weight / weight.abs().sum(-1, keepdim=True) * HYDRA_WEIGHT_GRID) / HYDRA_WEIGHT_GRID
            self.register_buffer(f"weight_{i}", weight.reshape(groups, kernels, KERNEL_LENGTH))
            chosen = torch.randint(n_channels, (groups, per_group), generator=generator)
            selection = torch.zeros(groups, n_channels).scatter_add_(1, chosen, torch.ones(groups, per_group))
            self.register_buffer(f"selection_{i}", selection)

    @property
    def n_outputs(self) -> int:
        return len(self.dilations) * 2 * self.groups * self.kernels

    def responses(self, series: torch.Tensor, i: int) -> torch.Tensor:
        """`series [B, F, T]` -> valid responses `[B, g, k, T - 8d]`: one dense convolution whose
        weights are each kernel on its group's channels (exact on the grids)."""
        weight = (
            getattr(self, f"weight_{i}")[:, :, None, :] * getattr(self, f"selection_{i}")[:, None, :, None]
        )  # [g, k, F, 9]
        z = F.conv1d(series, weight.flatten(0, 1), dilation=self.dilations[i])
        return z.view(z.shape[0], self.groups, self.kernels, z.shape[-1])

    def _counts(self, series: torch.Tensor, valid: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft win counts and hard loss counts `[B, g * k]` over the `valid` outputs."""
        z = self.responses(series, i)  # [B, g, k, T']
        mask = step_mask(valid, z.shape[-1]).to(z.dtype)[:, None, None, :]
        best = z.amax(2, keepdim=True)
        worst = z.amin(2, keepdim=True)
        # comparisons instead of argmax + one-hot: plain ONNX ops; exact ties (a constant input)
        # count for every tied kernel
        wins = ((z == best).to(z.dtype) * best * mask).sum(-1, dtype=torch.float64)
        losses = ((z == worst).to(z.dtype) * mask).sum(-1, dtype=torch.float64)
        return wins.flatten(1), losses.flatten(1)

    def forward(self, series: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`series [B, F, T]` (on the input grid) -> `[B, n_outputs]` float64 (soft win counts,
        then hard loss counts)."""
        batch, steps = series.shape[0], series.shape[-1]
        features = []
        for i, d in enumerate(self.dilations):
            if steps <= (KERNEL_LENGTH - 1) * d:
                features.append(
                    torch.zeros(batch, 2 * self.groups * self.kernels, dtype=torch.float64, device=series.device)
                )
                continue
            valid = valid_outputs(lengths, d)
            outputs = steps - (KERNEL_LENGTH - 1) * d
            # [B, g, k, T'] responses are memory-bound: batch chunks that stay in cache (one chunk
            # in export, which keeps the batch axis dynamic)
            chunk = (
                batch
                if torch.onnx.is_in_onnx_export()
                else max(1, 4 * CACHE_ELEMENTS // (self.groups * self.kernels * outputs))
            )
            counted = [self._counts(series[s : s + chunk], valid[s : s + chunk], i) for s in range(0, batch, chunk)]
            features += [torch.cat(values) for values in zip(*counted)]
        return torch.cat(features, dim=1)


class RocketNet(nn.Module):
    """Fixed random kernels -> pooled features -> standardise -> linear head (closed form).

    Buffers `mean`, `scale` (float64) and `sparse` standardise the features (Hydra's counts go
    through a square root and keep zeros at zero, as in the Hydra paper); `head` holds the ridge
    coefficients already multiplied by the temperature fitted on validation data.
    """

    mean: torch.Tensor
    scale: torch.Tensor
    sparse: torch.Tensor
    input_grid: float  # steps per unit of the grid inputs are rounded to (`input_grid`)
    fitted_summary: dict[str, Any]  # what the closed-form fit chose (head, penalty, temperature), set by the fit

    @classmethod
    def capabilities_for(cls, config: RocketConfig) -> Capabilities:
        """Sliding pools stream in O(features) per frame (`actrec.stream.kernels`); lspv does not."""
        sliding = all(p in SLIDING_POOLS for p in config.pooling)
        if sliding:
            return Capabilities(closed_form=True, per_frame_streaming=True, frame_state="kernel")
        return Capabilities(closed_form=True, streaming_note="the longest-stretch pool (lspv) needs the whole window")

    def __init__(self, n_features: int, n_classes: int, config: RocketConfig, schema: Any = None) -> None:
        super().__init__()
        if config.input_length < 1:
            raise ConfigError("a kernel model needs input_length (set by fit from the training data)")
        self.config = config
        generator = torch.Generator().manual_seed(int(torch.initial_seed()) % (2**63))
        length = config.input_length
        self.input_grid = input_grid(n_features, config)
        # level kernels read the series only: on its differences they would sum a dilated velocity
        banks = [KernelBank(n_features, length, config, generator, config.level_kernels, self.input_grid)]
        if config.differences:
            banks.append(KernelBank(n_features, max(length - 1, 1), config, generator, grid=self.input_grid))
        hydra: list[HydraBank] = []
        if config.hydra_groups:
            for representation_length in [length, max(length - 1, 1)]:
                hydra.append(
                    HydraBank(
                        n_features, representation_length, config.hydra_groups // 2, config.hydra_kernels, generator
                    )
                )
        self.banks, self.hydra = nn.ModuleList(banks), nn.ModuleList(hydra)
        n_rocket = sum(bank.n_outputs for bank in banks)
        n_hydra = sum(bank.n_outputs for bank in hydra)
        self.register_buffer("mean", torch.zeros(n_rocket + n_hydra, dtype=torch.float64))
        self.register_buffer("scale", torch.ones(n_rocket + n_hydra, dtype=torch.float64))
        self.register_buffer(
            "sparse", torch.cat([torch.zeros(n_rocket, dtype=torch.bool), torch.ones(n_hydra, dtype=torch.bool)])
        )
        self.head = nn.Linear(n_rocket + n_hydra, n_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def window(self) -> int:
        return self.config.input_length + self.config.skip_steps

    def padded_steps(self, steps: int) -> int:
        """Steps of a batch of `steps` steps once short samples are left-padded (`left_pad`)."""
        return max(steps, self.window) if self.config.left_pad else steps

    def left_aligned(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`x [B, T, F]` with each sample shorter than the window moved to end at the window's
        last step, zeros before it (`left_pad`); longer samples stay where they are."""
        steps = self.padded_steps(x.shape[1])
        shift = lengths.clamp(min=self.window) - lengths
        source = torch.arange(steps, device=x.device)[None, :] - shift[:, None]  # [B, T']
        inside = (source >= 0) & (source < lengths[:, None])
        index = source.clamp(0, max(x.shape[1] - 1, 0))[:, :, None].expand(-1, -1, x.shape[2])
        return torch.where(inside[:, :, None], torch.gather(x, 1, index), torch.zeros((), dtype=x.dtype))

    def representations(self, x: torch.Tensor, lengths: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The series `[B, F, T']` on the input grid from step `skip_steps` on, zero beyond each
        length, and (when asked) its first differences, each with its lengths."""
        if self.config.left_pad and (
            torch.onnx.is_in_onnx_export() or x.shape[1] < self.window or bool((lengths < x.shape[1]).any())
        ):
            x = self.left_aligned(x, lengths)
        each_lengths = self.representation_lengths(lengths)
        x = x[:, self.config.skip_steps :]
        valid = step_mask(each_lengths[0], x.shape[1])
        series = torch.where(
            valid[:, None, :], on_input_grid(x.transpose(1, 2), self.input_grid), torch.zeros((), dtype=x.dtype)
        ).contiguous()
        out = [(series, each_lengths[0])]
        if len(each_lengths) > 1:
            out.append((series[..., 1:] - series[..., :-1], each_lengths[1]))
        return out

    def representation_lengths(self, lengths: torch.Tensor) -> list[torch.Tensor]:
        """The lengths of each representation `representations` gives (the series, then its
        differences when asked), from the input lengths alone."""
        if self.config.left_pad:
            lengths = lengths.clamp(min=self.window)
        lengths = (lengths - self.config.skip_steps).clamp(min=0)
        if self.config.differences or self.config.hydra_groups:
            return [lengths, (lengths - 1).clamp(min=0)]
        return [lengths]

    def raw_features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled kernel features `[B, n]` float64 before standardisation (Hydra's after the
        square root)."""
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        if torch.onnx.is_in_onnx_export():
            # a graph is traced at one length but run on shorter windows too (a stream warming
            # up): zero steps past every length change no feature and keep each slice non-empty
            x = F.pad(x, (0, 0, 0, self.config.input_length + self.config.skip_steps))
        representations = self.representations(x, lengths)
        parts = [bank(*representations[i]) for i, bank in enumerate(self.banks)]
        parts += [bank(*representations[i]).clamp(min=0).sqrt() for i, bank in enumerate(self.hydra)]
        return torch.cat(parts, dim=1)

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        z = (raw - self.mean) / self.scale
        return torch.where(self.sparse & (raw == 0), torch.zeros_like(z), z)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        # float64 head: a stream's logits (`actrec.stream.kernels`) then agree to ~1e-12, where two
        # float32 sums of 20,000 terms in different orders differ by ~1e-5
        z = self.standardise(self.raw_features(x, lengths))
        return F.linear(z, self.head.weight.double(), self.head.bias.double()).to(self.head.weight.dtype)


@register_model("minirocket", RocketConfig)
class MiniRocket(RocketNet):
    """MiniRocket (Dempster et al., KDD 2021): PPV of 84 kernels x dilations x biases, valid
    convolutions only (module docstring)."""


@register_model("multirocket", MultiRocketConfig)
class MultiRocket(RocketNet):
    """MultiRocket-Hydra (Tan et al. 2022; Dempster et al. 2023): PPV, MPV and MIPV on the series
    and its first differences, plus Hydra's competing-kernel counts."""
