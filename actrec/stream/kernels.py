"""O(features)-per-frame streaming of random-kernel models, equal to batch predict on every window.

A `RocketNet` pools valid convolution outputs (see `actrec.models.rocket`). When the sliding window
gains a frame, each kernel at dilation d gains one output, centred 4d frames back, and loses the one
centred 4d frames after the old window start. So the window's features are running sums:
- PPV: how many outputs lie above each bias; MPV: the sum of their excess; MIPV: the sum of the
  frames at which the positive ones were computed (turned into mean centre steps when read);
- Hydra: each kernel's summed winning response and its count of losses, kept per frame in a ring
  so the leaving frame's share is subtracted exactly as it was added.
Nothing grows with the window but the ring buffers. A frame is five compiled passes (numba: as
NumPy vector calls the same work took about forty calls, each a microsecond of overhead):
`convolve_frame` (channel sums, every kernel's newest output, Hydra's shares), `slide_sums` and
`slide_hydra` (the running sums), `pooled_features` (the head's standardised input) and `head`;
for a PPV-only model over a full window (the default) two: `convolve_frame` and `count_and_score`.

Frames are put on the kernels' input grid (`rocket.on_input_grid`), where every convolution output
is exact, so the comparisons with the biases are the ones batch predict makes, bit for bit, and the
running sums (float64) stay exact whatever order they are added in; both heads run in float64.
`KernelStream.step` takes the feature rows of `actrec.stream.features.FrameFeatures` and reads the
last one (the row of a frame whose window started long ago): the model never reads the first
`skip_steps` steps of a window, where rows differ.

Stream order: mixes (channel sums) are [kernel series, kernel differences, Hydra series, Hydra
differences]; the head's input is one vector per pool over every kernel bias, then Hydra's wins
and losses per group. `batch_index` maps each to its column in `RocketNet.raw_features`; the
standardisation and head are gathered into that order once.
"""

from __future__ import annotations

import copy
from typing import cast

import numba
import numpy as np

from actrec.models.rocket import (
    HALF,
    INPUT_LIMIT,
    KERNEL_LENGTH,
    SLIDING_POOLS,
    HydraBank,
    KernelBank,
    RocketNet,
    kernel_taps,
)

STATE_ARRAYS = ["series", "previous_sums", "kernel_conv", "hydra_shares", "above", "excess", "frames", "hydra"]
SCRATCH_ARRAYS = ["moving", "features", "logits"]  # written by a step before it reads them
NO_STANDARDIZE = np.zeros(0, np.float32)  # `convolve_frame` takes frames as they are
# a full-window frame sums the whole head again this often (`count_and_score`) rather than moving
# the last logits (`slide_and_score`): the moved sums drift from the full ones by float64
# rounding, ~1e-16 of the logits per frame; this bounds it whatever the session's length
RESCORE_FRAMES = 1024
# ... when its kernels have this many biases each on average: one binary search and two prefix
# rows per kernel beat a pass over the head from about 9 (median per frame, one thread, 10
# classes, slide against full pass: 17 biases 161 -> 127 µs, 8.5 biases 163 against 166; windows
# 60x6 and 250x6, another process on the second core)
SLIDE_MIN_BIASES = 12


class KernelStream:
    """The running state of one `RocketNet` over a sliding window of `window_length` frames."""

    how = "running sums of the kernel features (a per-frame cost independent of the window)"
    count: int  # frames pushed since the stream started (reset returns it to the warmed-up start)

    def __init__(self, network: RocketNet, window_length: int) -> None:
        self.window_length = window_length
        self.ring = window_length + 1  # frames a computed output is kept, until it leaves the window
        self.skip = network.config.skip_steps
        self.input_grid = network.input_grid
        self.pools = list(network.config.pooling)
        self.n_channels = int(network.banks[0].get_buffer("combination_0").shape[1])
        layout = _Layout(network, self.n_channels, len(self.pools))
        mixes, rep, dilation = layout.mixes, np.asarray(layout.mix_rep), np.asarray(layout.mix_dilation)
        # Mixes that sum the same channels with the same signs in the same representation share one
        # series: with few channels (a 6-axis IMU has 63 channel subsets) thousands of kernels read a
        # hundred series. The ring is time-major: the 84 kernels of one dilation read the same nine rows.
        keys = [
            (int(r), tuple(sorted((int(c), int(g)) for c, g in zip(p, signs))))
            for r, p, signs in zip(rep, mixes, layout.mix_signs)
        ]
        unique = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        self.series_of = np.array([unique[key] for key in keys], np.int64)
        width = max(1, max(len(p) for p in mixes))
        self.picks = np.full((len(unique), width), -1, np.int64)  # channels each series sums, -1 padded
        self.pick_signs = np.zeros((len(unique), width))  # ... each added (1) or subtracted (-1)
        for (_, picks), i in unique.items():
            self.picks[i, : len(picks)] = [c for c, _ in picks]
            self.pick_signs[i, : len(picks)] = [g for _, g in picks]
        self.is_difference = np.array([r == 1 for r, _ in unique], bool)
        self.n_mixes, self.n_kernel = len(mixes), layout.n_kernel
        self.n_groups = self.n_mixes - self.n_kernel
        self.history = int((KERNEL_LENGTH - 1) * dilation.max()) + 1
        self.dilation = np.ascontiguousarray(dilation, np.int64)
        # series steps a mix's kernels need for one valid output, and the frame of their first
        # output counted from the series start
        self.need = (KERNEL_LENGTH - 1) * dilation + 1 + rep
        self.span = (KERNEL_LENGTH - 1) * dilation + rep
        self.max_need = int(self.need.max())
        self.hydra_span = np.ascontiguousarray(self.span[self.n_kernel :])

        self.kernel_positions = np.ascontiguousarray(
            np.concatenate(layout.kernel_positions) if self.n_kernel else np.zeros((0, 3), np.int64)
        )
        self.kernel_coefficients = np.ascontiguousarray(
            np.concatenate(layout.kernel_coefficients) if self.n_kernel else np.zeros((0, 2))
        )
        owner = np.asarray(layout.bias_mix, np.int64)
        self.bias = np.asarray(layout.bias_values, np.float64)
        self.n_bias = len(owner)
        self.bias_owner = owner
        self.moving = np.zeros((3, self.n_kernel))
        self.bias_outputs_less = self.need[owner] - 1  # valid outputs = series length - this
        self.bias_centre = (HALF * dilation + rep)[owner]  # output frame - this = centre step + series start
        self.all_active = np.ones(self.n_mixes, bool)
        self.pool_slots = np.array(
            [self.pools.index(name) if name in self.pools else -1 for name in SLIDING_POOLS], np.int64
        )

        self.hydra_weights = (
            np.stack(layout.group_weights) if self.n_groups else np.zeros((0, 1, KERNEL_LENGTH))
        )  # [G, k, 9]
        self.hydra_kernels = self.hydra_weights.shape[1]
        hydra_columns = (
            np.stack(layout.group_columns) if self.n_groups else np.zeros((0, 2, self.hydra_kernels), np.int64)
        )
        pooled_columns = (
            np.concatenate(layout.bias_columns, axis=1) if self.n_bias else np.zeros((len(self.pools), 0), np.int64)
        )
        self.batch_index = np.concatenate([pooled_columns.reshape(-1), hydra_columns.reshape(-1)])
        self._gather_head(network)
        self._outputs_for: tuple[int, np.ndarray] | None = None
        self._prefill(network)

    def _gather_head(self, network: RocketNet) -> None:
        """The standardisation and the head in stream order. The head keeps its float32 weights
        (half the bytes a frame reads; converted exactly) and sums in float64 like batch predict."""
        mean = network.mean.double().numpy()[self.batch_index]
        scale = network.scale.double().numpy()[self.batch_index]
        self.head_weight = np.ascontiguousarray(network.head.weight.detach().float().numpy()[:, self.batch_index])
        self.head_bias = network.head.bias.detach().double().numpy()
        self.mean, self.inverse_scale = mean, 1.0 / scale
        self.features = np.zeros(len(self.batch_index))
        self.logits = np.zeros(len(self.head_bias))
        # PPV alone (the default) over a full window: each feature is a count times a constant, so
        # the standardisation folds into the head, `logits = head @ (above * scale) + constant`,
        # and a frame is one pass over the biases after the convolutions (`count_and_score`); with
        # `SLIDE_MIN_BIASES` per kernel, a frame after a scored one moves the logits by two prefix
        # rows per kernel instead (`slide_and_score`)
        self.full_length = self.window_length - self.skip
        self.folded: tuple[np.ndarray, np.ndarray] | None = None
        if self.pools == ["ppv"] and self.n_groups == 0 and self.max_need <= self.full_length:
            per_count = self.inverse_scale / np.maximum(self.full_length - self.bias_outputs_less, 1)
            constant = self.head_bias - self.head_weight.astype(np.float64) @ (self.mean * self.inverse_scale)
            self.folded = (per_count, constant)
        self.slides = self.folded is not None and self.n_bias >= SLIDE_MIN_BIASES * self.n_kernel
        if self.folded is not None and self.slides:
            self._sort_biases(self.folded[0])

    def _sort_biases(self, per_count: np.ndarray) -> None:
        """Each kernel's biases in ascending order (`sorted_bias`, `bias_order` into `bias`, kernel
        u's at `unit_start[u]:unit_start[u + 1]`) and `prefix`: row `unit_start[u] + u + j` is the
        folded head's column sum over u's j lowest biases. An output v of kernel u then adds
        `prefix[unit_start[u] + u + (biases below v)]` to the logits, so a frame that adds one
        output and drops one per kernel moves them by two rows' difference: `slide_and_score`
        reads C numbers per kernel where `count_and_score` reads the whole head (C x biases)."""
        order = np.lexsort((self.bias, self.bias_owner))
        self.bias_order = order.astype(np.int64)
        self.sorted_bias = np.ascontiguousarray(self.bias[order])
        counts = np.bincount(self.bias_owner, minlength=self.n_kernel)
        self.unit_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        folded = (self.head_weight.astype(np.float64) * per_count).T[order]  # [n_bias, C], sorted
        prefix = np.zeros((self.n_bias + self.n_kernel, folded.shape[1]))
        for u in range(self.n_kernel):
            lo, hi = self.unit_start[u], self.unit_start[u + 1]
            prefix[lo + u + 1 : hi + u + 1] = np.cumsum(folded[lo:hi], axis=0)
        self.prefix = prefix

    def _prefill(self, network: RocketNet) -> None:
        """The state a reset returns to. A model that left-pads short windows
        (`RocketConfig.left_pad`) reads a warming-up window as zeros before its first frame: a
        stream that has seen `window_length` zero rows (the input's mean) holds exactly that."""
        self._clear()
        if network.config.left_pad:
            zero = np.zeros((1, self.n_channels), np.float32)
            for _ in range(self.window_length):
                self.step(zero)
        self._start = {name: np.copy(getattr(self, name)) for name in STATE_ARRAYS + ["places"]}
        self._start_count = self.count

    def fresh(self) -> KernelStream:
        """A stream of its own at the start, sharing this one's layout, weights and start state.
        A step writes only `STATE_ARRAYS` and `SCRATCH_ARRAYS` (both new here), so streams over
        one model can share the rest, which takes ~20 ms to build (the layout's Python loop over
        every kernel, and the left-pad prefill): a server opening a session per connection
        builds it once per model (`Streamer.fork`)."""
        twin = copy.copy(self)
        for name in SCRATCH_ARRAYS:
            setattr(twin, name, np.zeros_like(getattr(self, name)))
        twin._outputs_for = None
        twin.reset()
        return twin

    def reset(self) -> None:
        """Forget every frame: the next one starts a new window."""
        for name, value in self._start.items():
            setattr(self, name, np.copy(value))
        self.count = self._start_count
        self._scored = self._stale = False

    def state(self) -> list[np.ndarray]:
        """The state arrays, in `STATE_ARRAYS` order (`kernel_graph.STATE_NAMES`)."""
        if self._stale:
            self._recount()
        return [getattr(self, name) for name in STATE_ARRAYS]

    def _clear(self) -> None:
        self.count = 0
        # `logits` hold the last frame's full-window scores, and `above` lags them (`slide_and_score`)
        self._scored = self._stale = False
        self.series = np.zeros((2 * self.history, len(self.picks)))  # each step twice: taps never wrap
        self.previous_sums = np.zeros(len(self.picks))
        self.kernel_conv = np.zeros((self.ring, self.n_kernel))
        self.hydra_shares = np.zeros((self.ring, self.n_groups, 2, self.hydra_kernels))
        self.above = np.zeros(self.n_bias)  # PPV counts
        self.excess = np.zeros(self.n_bias)  # MPV sums
        self.frames = np.zeros(self.n_bias)  # MIPV: sums of the frames positive outputs came at
        self.hydra = np.zeros((self.n_groups, 2, self.hydra_kernels))  # wins, losses
        # where each output in the ring falls among its kernel's sorted biases, kept from the frame
        # it came in so that a sliding frame searches only for the new one (`slide_and_score`)
        self.places = np.zeros((self.ring, self.n_kernel if self.slides else 0), np.int64)

    def take_raw_frames(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Let `step_raw` take raw frames of a pipeline that only standardises (`FrameFeatures.
        standardize_only`): the compiled convolution standardises them as `FrameFeatures.push`
        does, in the same dtypes, which saves its NumPy calls (~9 µs of a 30 x 99 frame)."""
        self.raw_mean, self.raw_std = mean, std

    def step_raw(self, frame: np.ndarray) -> np.ndarray:
        """`step` of a complete raw frame `[F]`, standardised by `take_raw_frames`' mean and std."""
        return self._step(frame, self.raw_mean, self.raw_std)

    def step(self, variants: np.ndarray) -> np.ndarray:
        """Logits `[C]` float32 of the window ending at this frame; `variants [V, F]` as given by
        `FrameFeatures.push` (the last row is used, see the module docstring)."""
        return self._step(variants[-1], NO_STANDARDIZE, NO_STANDARDIZE)

    def _step(self, row: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        t = self.count
        if self._stale and t % RESCORE_FRAMES == 0:  # a window stays full until a reset
            self._recount()
        self.count += 1
        frames_in_window = min(self.count, self.window_length)
        series_length = frames_in_window - self.skip
        series_start = self.count - frames_in_window + self.skip

        ring = t % self.ring
        active = self.all_active if series_length >= self.max_need else series_length >= self.need
        slid = self.count > self.window_length and series_length > 0  # one output per kernel leaves
        old_start = series_start - 1
        convolve_frame(
            row,
            mean,
            std,
            self.input_grid,
            self.picks,
            self.pick_signs,
            self.is_difference,
            self.previous_sums,
            self.series,
            self.series_of,
            t % self.history,
            self.history,
            self.dilation,
            self.kernel_positions,
            self.kernel_coefficients,
            self.hydra_weights,
            active,
            self.kernel_conv[ring],
            self.hydra_shares[ring],
        )
        sliding = self.slides and self._scored and series_length == self.full_length and t % RESCORE_FRAMES
        if self.slides and not sliding:  # `slide_and_score` places the outputs of the frames it moves by
            place_outputs(self.kernel_conv[ring], self.unit_start, self.sorted_bias, self.places[ring])
        if self.folded is not None and series_length == self.full_length:
            if sliding:
                self._stale = True
                slide_and_score(
                    self.kernel_conv,
                    ring,
                    slid,
                    old_start,
                    self.span,
                    self.unit_start,
                    self.sorted_bias,
                    self.prefix,
                    self.places,
                    self.logits,
                )
                return self.logits.astype(np.float32)
            self._scored = True
            count_and_score(
                self.kernel_conv,
                ring,
                slid,
                old_start,
                self.span,
                self.bias_owner,
                self.bias,
                self.above,
                self.moving,
                self.head_weight,
                self.folded[0],
                self.folded[1],
                self.logits,
            )
            return self.logits.astype(np.float32)
        self._scored = False
        slide_sums(
            self.kernel_conv,
            ring,
            slid,
            float(t),
            old_start,
            self.span,
            active,
            self.bias_owner,
            self.bias,
            self.above,
            self.excess,
            self.frames,
            self.moving,
        )
        slide_hydra(self.hydra_shares, ring, slid, old_start, self.hydra_span, self.hydra)
        pooled_features(
            self.above,
            self.excess,
            self.frames,
            self._inverse_outputs(series_length),
            self.bias_centre,
            float(series_start),
            self.pool_slots,
            self.hydra.reshape(-1),
            self.mean,
            self.inverse_scale,
            self.features,
        )
        head(self.head_weight, self.head_bias, self.features, self.logits)
        return self.logits.astype(np.float32)

    def _recount(self) -> None:
        """`above` of the full window ending at the last frame, counted again from the outputs
        the ring holds: frames moved by `slide_and_score` left it behind."""
        last = self.count - 1
        recount_above(
            self.kernel_conv,
            last,
            last + 1 - self.full_length,
            self.span,
            self.unit_start,
            self.sorted_bias,
            self.bias_order,
            self.above,
        )
        self._stale = False

    def _inverse_outputs(self, series_length: int) -> np.ndarray:
        """1 / (valid outputs per bias), cached: constant once the window is full."""
        if self._outputs_for is None or self._outputs_for[0] != series_length:
            outputs = np.maximum(series_length - self.bias_outputs_less, 1)
            self._outputs_for = (series_length, 1.0 / outputs)
        return self._outputs_for[1]


class _Layout:
    """Where each stream quantity comes from in the network and goes in `raw_features`."""

    def __init__(self, network: RocketNet, n_channels: int, n_pools: int) -> None:
        self.mixes: list[np.ndarray] = []  # channel indexes summed, per mix
        self.mix_signs: list[np.ndarray] = []  # ... each added (1) or subtracted (-1)
        self.mix_rep: list[int] = []
        self.mix_dilation: list[int] = []
        self.kernel_positions: list[np.ndarray] = []  # [K, 3] per bank and dilation (`rocket.kernel_taps`)
        self.kernel_coefficients: list[np.ndarray] = []  # [K, 2]
        bias_mix: list[np.ndarray] = []
        bias_values: list[np.ndarray] = []
        self.bias_columns: list[np.ndarray] = []  # [pools, b] per kernel mix
        self.group_weights: list[np.ndarray] = []  # [k, 9] per Hydra mix
        self.group_columns: list[np.ndarray] = []  # [2, k] per Hydra mix (wins, losses)
        offset = 0
        for rep, bank in enumerate(cast(list[KernelBank], list(network.banks))):
            for i, d in enumerate(bank.dilations):
                combination = bank.get_buffer(f"combination_{i}").numpy()
                bias = bank.get_buffer(f"bias_{i}").numpy()
                per_kernel = bias.shape[1]
                positions, coefficients = kernel_taps(bank.level_kernels)
                self.kernel_positions.append(positions)
                self.kernel_coefficients.append(coefficients)
                for k in range(bank.n_kernels):
                    self._mix(combination[k], n_channels, rep, d)
                    bias_mix.append(np.full(per_kernel, len(self.mixes) - 1))
                    bias_values.append(bias[k])
                    pools = np.arange(n_pools)[:, None] * bank.n_kernels * per_kernel
                    self.bias_columns.append(offset + pools + k * per_kernel + np.arange(per_kernel))
                offset += n_pools * bank.n_kernels * per_kernel
        self.n_kernel = len(self.mixes)
        for rep, hydra in enumerate(cast(list[HydraBank], list(network.hydra))):
            for i, d in enumerate(hydra.dilations):
                selection = hydra.get_buffer(f"selection_{i}").numpy()
                weight = hydra.get_buffer(f"weight_{i}").numpy()  # [g, k, 9]
                size = hydra.groups * hydra.kernels
                for g in range(hydra.groups):
                    self._mix(selection[g], n_channels, rep, d)
                    self.group_weights.append(weight[g])
                    wins = offset + g * hydra.kernels + np.arange(hydra.kernels)
                    self.group_columns.append(np.stack([wins, wins + size]))
                offset += 2 * size
        self.bias_mix = np.concatenate(bias_mix) if bias_mix else np.zeros(0, np.int64)
        self.bias_values = np.concatenate(bias_values) if bias_values else np.zeros(0)

    def _mix(self, counts: np.ndarray, n_channels: int, rep: int, dilation: int) -> None:
        """A mix sums each channel as often as `counts` says, subtracting it where `counts` is negative."""
        counts = np.rint(counts).astype(np.int64)
        self.mixes.append(np.repeat(np.arange(n_channels), np.abs(counts)))
        self.mix_signs.append(np.repeat(np.sign(counts), np.abs(counts)))
        self.mix_rep.append(rep)
        self.mix_dilation.append(dilation)


@numba.njit(cache=True, nogil=True)
def convolve_frame(
    frame: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    grid: float,
    picks: np.ndarray,
    pick_signs: np.ndarray,
    is_difference: np.ndarray,
    previous: np.ndarray,
    series: np.ndarray,
    series_of: np.ndarray,
    slot: int,
    history: int,
    dilation: np.ndarray,
    positions: np.ndarray,
    coefficients: np.ndarray,
    hydra_weights: np.ndarray,
    active: np.ndarray,
    conv: np.ndarray,
    shares: np.ndarray,
) -> None:
    """One frame in (standardised here by `mean` and `std` unless they are empty): its channel sums on the input grid (multiples of 1 / `grid`; the difference series' as this frame's sums
    minus the last), written twice into the `series` ring (mix m reads series `series_of[m]`); the newest output of every kernel into
    `conv`; each Hydra kernel's share (its response where it wins its group, ties counting for
    every tied kernel; 1 where it loses; 0 for groups not `active` yet) into `shares [G, 2, k]`."""
    n_channels = frame.shape[0]
    row = np.empty(n_channels)
    standardize = mean.shape[0] > 0
    for c in range(n_channels):
        value = np.float32((frame[c] - mean[c]) / std[c]) if standardize else frame[c]
        row[c] = min(max(np.rint(np.float64(value) * grid) / grid, -INPUT_LIMIT), INPUT_LIMIT)
    for m in range(picks.shape[0]):
        total = 0.0
        for p in range(picks.shape[1]):
            if picks[m, p] < 0:
                break
            total += pick_signs[m, p] * row[picks[m, p]]
        value = total - previous[m] if is_difference[m] else total
        previous[m] = total
        series[slot, m] = value
        series[slot + history, m] = value
    newest = slot + history
    n_kernel = conv.shape[0]
    last = KERNEL_LENGTH - 1
    for u in range(n_kernel):
        # MiniRocket's weights are -1 at six taps and 2 at three: 3 x (the three) - (all nine);
        # a level kernel's are 1 at all nine: 0 x (three) + (all nine)
        column, d = series_of[u], dilation[u]
        total = 0.0
        for j in range(KERNEL_LENGTH):
            total += series[newest - (last - j) * d, column]
        chosen = 0.0
        for j in range(3):
            chosen += series[newest - (last - positions[u, j]) * d, column]
        conv[u] = coefficients[u, 0] * chosen + coefficients[u, 1] * total
    kernels = hydra_weights.shape[1]
    z = np.empty(kernels)
    for g in range(hydra_weights.shape[0]):
        m = n_kernel + g
        column = series_of[m]
        best, worst = -np.inf, np.inf
        for q in range(kernels):
            total = 0.0
            for j in range(KERNEL_LENGTH):
                total += hydra_weights[g, q, j] * series[newest - (last - j) * dilation[m], column]
            z[q] = total
            best = max(best, total)
            worst = min(worst, total)
        for q in range(kernels):
            shares[g, 0, q] = best if (active[m] and z[q] == best) else 0.0
            shares[g, 1, q] = 1.0 if (active[m] and z[q] == worst) else 0.0


@numba.njit(cache=True, nogil=True)
def slide_sums(
    conv: np.ndarray,
    ring: int,
    slid: bool,
    frame: float,
    old_start: int,
    span: np.ndarray,
    active: np.ndarray,
    owner: np.ndarray,
    bias: np.ndarray,
    above: np.ndarray,
    excess: np.ndarray,
    frames: np.ndarray,
    moving: np.ndarray,
) -> None:
    """Per bias b of kernel `owner[b]`: add the newest output of its kernel (`conv[ring]`,
    computed at `frame`) and, when the window slid, remove the leaving one (computed at
    `old_start + span`, still in the `conv` ring). `moving [3, kernels]` is scratch.

    Values on the input grid keep every sum exact, so the order of additions does not matter
    (batch predict sums in another order). The updates are arithmetic, not branches: whether an
    output lies above a bias is a coin flip for the branch predictor, and the branch-free loop over
    biases vectorises. An output that does not count (kernel not active yet, nothing left the
    window) is -inf, which no bias lies below."""
    size = conv.shape[0]
    base = old_start % size
    for unit in range(conv.shape[1]):
        row = base + span[unit]  # span < size: one subtraction instead of a modulo per kernel
        moving[0, unit] = conv[ring, unit] if active[unit] else -np.inf
        moving[1, unit] = conv[row - size if row >= size else row, unit] if (slid and active[unit]) else -np.inf
        moving[2, unit] = old_start + span[unit]
    for b in range(owner.shape[0]):
        unit = owner[b]
        over = moving[0, unit] - bias[b]
        positive = 1.0 * (over > 0.0)
        gone = moving[1, unit] - bias[b]
        leaving = 1.0 * (gone > 0.0)
        above[b] += positive - leaving
        excess[b] += max(over, 0.0) - max(gone, 0.0)
        frames[b] += frame * positive - moving[2, unit] * leaving


@numba.njit(cache=True, nogil=True)
def slide_hydra(shares: np.ndarray, ring: int, slid: bool, old_start: int, span: np.ndarray, sums: np.ndarray) -> None:
    """Add the newest frame's Hydra shares; when the window slid, remove each group's leaving share."""
    size = shares.shape[0]
    for g in range(shares.shape[1]):
        leaving = (old_start + span[g]) % size
        for w in range(2):
            for q in range(shares.shape[3]):
                sums[g, w, q] += shares[ring, g, w, q]
                if slid:
                    sums[g, w, q] -= shares[leaving, g, w, q]


@numba.njit(cache=True, nogil=True)
def pooled_features(
    above: np.ndarray,
    excess: np.ndarray,
    frames: np.ndarray,
    inverse_outputs: np.ndarray,
    centre: np.ndarray,
    series_start: float,
    slots: np.ndarray,
    hydra: np.ndarray,
    mean: np.ndarray,
    inverse_scale: np.ndarray,
    out: np.ndarray,
) -> None:
    """The head's input, standardised: PPV, MPV and MIPV of every bias as
    `actrec.models.rocket.pool` defines them, at `out[slots[pool] * n + b]` (slot -1: pool not
    used), then Hydra's square-root counts (a zero count stays zero)."""
    n = above.shape[0]
    if slots[0] >= 0:
        start = slots[0] * n
        for b in range(n):
            i = start + b
            out[i] = (above[b] * inverse_outputs[b] - mean[i]) * inverse_scale[i]
    if slots[1] >= 0:
        start = slots[1] * n
        for b in range(n):
            i = start + b
            out[i] = (excess[b] / max(above[b], 1.0) - mean[i]) * inverse_scale[i]
    if slots[2] >= 0:
        start = slots[2] * n
        for b in range(n):
            i = start + b
            value = frames[b] / max(above[b], 1.0) - centre[b] - series_start if above[b] > 0.0 else -1.0
            out[i] = (value - mean[i]) * inverse_scale[i]
    start = out.shape[0] - hydra.shape[0]
    for h in range(hydra.shape[0]):
        i = start + h
        raw = np.sqrt(max(hydra[h], 0.0))
        out[i] = 0.0 if raw == 0.0 else (raw - mean[i]) * inverse_scale[i]


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def count_and_score(
    conv: np.ndarray,
    ring: int,
    slid: bool,
    old_start: int,
    span: np.ndarray,
    owner: np.ndarray,
    bias: np.ndarray,
    above: np.ndarray,
    moving: np.ndarray,
    weight: np.ndarray,
    per_count: np.ndarray,
    constant: np.ndarray,
    logits: np.ndarray,
) -> None:
    """`slide_sums` and `head` in one pass for a PPV-only model over a full window (every kernel
    active): the counts above each bias, then `logits = weight @ (above * per_count) + constant`,
    the standardised head folded (`KernelStream._gather_head`). One compiled call instead of
    three: a frame of the default model is a few microseconds of Python and dispatch otherwise."""
    size = conv.shape[0]
    base = old_start % size
    for unit in range(conv.shape[1]):
        row = base + span[unit]
        moving[0, unit] = conv[ring, unit]
        moving[1, unit] = conv[row - size if row >= size else row, unit] if slid else -np.inf
    for b in range(owner.shape[0]):
        unit = owner[b]
        above[b] += 1.0 * (moving[0, unit] > bias[b]) - 1.0 * (moving[1, unit] > bias[b])
    for c in range(weight.shape[0]):
        total = 0.0
        for b in range(weight.shape[1]):
            total += np.float64(weight[c, b]) * (above[b] * per_count[b])
        logits[c] = total + constant[c]


@numba.njit(cache=True, nogil=True)
def slide_and_score(
    conv: np.ndarray,
    ring: int,
    slid: bool,
    old_start: int,
    span: np.ndarray,
    unit_start: np.ndarray,
    sorted_bias: np.ndarray,
    prefix: np.ndarray,
    place_ring: np.ndarray,
    logits: np.ndarray,
) -> None:
    """`count_and_score`'s logits for a frame after a scored one: per kernel, a binary search
    places the new output among its sorted biases (kept in `place_ring`, where the place of the
    output leaving was kept when it came), and the logits move by the difference of the two
    places' `prefix` rows (`KernelStream._sort_biases`). The counts are left behind until
    something reads them (`recount_above`). One search per kernel instead of two: 45 -> 26 µs
    at 30 x 99 (378 kernels, 40 biases each; scratch timing of both, one thread)."""
    size = conv.shape[0]
    base = old_start % size
    for unit in range(conv.shape[1]):
        lo, hi = unit_start[unit], unit_start[unit + 1]
        if lo == hi:
            continue
        new = places(sorted_bias, lo, hi, conv[ring, unit])
        place_ring[ring, unit] = new
        old = lo
        if slid:
            row = base + span[unit]
            old = place_ring[row - size if row >= size else row, unit]
        if new != old:
            for c in range(logits.shape[0]):
                logits[c] += prefix[new + unit, c] - prefix[old + unit, c]


@numba.njit(cache=True, nogil=True)
def place_outputs(outputs: np.ndarray, unit_start: np.ndarray, sorted_bias: np.ndarray, placed: np.ndarray) -> None:
    """`placed[u]`: where kernel u's output falls among its sorted biases (`places`)."""
    for unit in range(outputs.shape[0]):
        placed[unit] = places(sorted_bias, unit_start[unit], unit_start[unit + 1], outputs[unit])


@numba.njit(cache=True, nogil=True, inline="always")
def places(sorted_bias: np.ndarray, lo: int, hi: int, value: float) -> int:
    """`lo` + how many of `sorted_bias[lo:hi]` lie below `value` (a binary search; numba's
    `np.searchsorted` on a slice costs several times more per call)."""
    while lo < hi:
        middle = (lo + hi) // 2
        if sorted_bias[middle] < value:
            lo = middle + 1
        else:
            hi = middle
    return lo


@numba.njit(cache=True, nogil=True)
def recount_above(
    conv: np.ndarray,
    last: int,
    series_start: int,
    span: np.ndarray,
    unit_start: np.ndarray,
    sorted_bias: np.ndarray,
    order: np.ndarray,
    above: np.ndarray,
) -> None:
    """PPV counts of the full window whose last frame is `last`: kernel u's outputs are those of
    frames `series_start + span[u]` to `last` in the ring."""
    size = conv.shape[0]
    for unit in range(conv.shape[1]):
        lo, hi = unit_start[unit], unit_start[unit + 1]
        if lo == hi:
            continue
        below = np.zeros(hi - lo + 1, np.int64)  # outputs above exactly j of the biases
        for frame in range(series_start + span[unit], last + 1):
            below[places(sorted_bias, lo, hi, conv[frame % size, unit]) - lo] += 1
        count = 0
        for j in range(hi - lo - 1, -1, -1):
            count += below[j + 1]  # outputs above bias j: those above more than j biases
            above[order[lo + j]] = count


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def head(weight: np.ndarray, bias: np.ndarray, features: np.ndarray, logits: np.ndarray) -> None:
    """`logits = weight @ features + bias`, float32 weights summed in float64 (reassociated so it
    vectorises: the order of a float64 sum moves the logits by about 1e-13)."""
    for c in range(weight.shape[0]):
        total = 0.0
        for i in range(weight.shape[1]):
            total += np.float64(weight[c, i]) * features[i]
        logits[c] = total + bias[c]
