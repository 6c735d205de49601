"""O(features)-per-frame streaming of random-kernel models, equal to batch predict on every window.

A `RocketNet` pools valid convolution outputs (see `actrec.models.rocket`). When the sliding window
gains a frame, each kernel at dilation d gains one output, centred 4d frames back, and loses the one
centred 4d frames after the old window start. So the window's features are running sums:
- PPV: how many outputs lie above each bias; MPV: the sum of their excess; MIPV: the sum of the
  frames at which the positive ones were computed (turned into mean centre steps when read);
- Hydra: each kernel's summed winning response and its count of losses, kept per frame in a ring
  so the leaving frame's share is subtracted exactly as it was added.
Nothing grows with the window but the ring buffers. A frame is three compiled passes (numba: as
NumPy vector calls the same work took about forty calls, each a microsecond of overhead) and one
head product: `convolve_frame` (channel sums, every kernel's newest output, Hydra's shares),
`slide` (the biases' running sums), `features` (the head's input).

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

import numba
import numpy as np

from actrec.models.rocket import HALF, INPUT_GRID, INPUT_LIMIT, KERNEL_LENGTH, N_KERNELS, SLIDING_POOLS, RocketNet, minirocket_weights


class KernelStream:
    """The running state of one `RocketNet` over a sliding window of `window_length` frames."""

    def __init__(self, network: RocketNet, window_length: int) -> None:
        self.window_length = window_length
        self.ring = window_length + 1  # frames a computed output is kept, until it leaves the window
        self.skip = network.config.skip_steps
        self.pools = list(network.config.pooling)
        self.n_channels = int(network.banks[0].combination_0.shape[1])
        layout = _Layout(network, self.n_channels, len(self.pools))
        mixes, rep, dilation = layout.mixes, np.asarray(layout.mix_rep), np.asarray(layout.mix_dilation)
        width = max(1, max(len(p) for p in mixes))
        self.picks = np.full((len(mixes), width), -1, np.int64)  # channels each mix sums, -1 padded
        for m, picks in enumerate(mixes):
            self.picks[m, : len(picks)] = picks
        self.n_mixes, self.n_kernel = len(mixes), layout.n_kernel
        self.n_groups = self.n_mixes - self.n_kernel
        self.is_difference = rep == 1
        self.history = int((KERNEL_LENGTH - 1) * dilation.max()) + 1
        lags = (KERNEL_LENGTH - 1 - np.arange(KERNEL_LENGTH))[None, :] * dilation[:, None]
        self.lags = np.ascontiguousarray(lags)
        # series steps a mix's kernels need for one valid output, and the frame of their first
        # output counted from the series start
        self.need = (KERNEL_LENGTH - 1) * dilation + 1 + rep
        self.span = (KERNEL_LENGTH - 1) * dilation + rep
        self.max_need = int(self.need.max())

        self.kernel_weights = np.asarray(layout.kernel_weights, np.float64)
        owner = np.asarray(layout.bias_mix, np.int64)
        self.bias_owner, self.bias = owner, np.asarray(layout.bias_values, np.float64)
        self.n_bias = len(owner)
        self.bias_outputs_less = self.need[owner] - 1  # valid outputs = series length - this
        self.bias_span = self.span[owner]
        self.bias_centre = (HALF * dilation + rep)[owner]  # output frame - this = centre step + series start
        self.all_active = np.ones(self.n_mixes, bool)
        self.pool_codes = np.array([SLIDING_CODES[name] for name in self.pools], np.int64)

        self.hydra_weights = np.stack(layout.group_weights) if self.n_groups else np.zeros((0, 1, KERNEL_LENGTH))  # [G, k, 9]
        self.hydra_kernels = self.hydra_weights.shape[1]
        hydra_columns = np.stack(layout.group_columns) if self.n_groups else np.zeros((0, 2, self.hydra_kernels), np.int64)
        pooled_columns = np.concatenate(layout.bias_columns, axis=1) if self.n_bias else np.zeros((len(self.pools), 0), np.int64)
        self.batch_index = np.concatenate([pooled_columns.reshape(-1), hydra_columns.reshape(-1)])
        self._fold_head(network)
        self._outputs_for: tuple[int, np.ndarray] | None = None
        self.reset()

    def _fold_head(self, network: RocketNet) -> None:
        """The standardisation folded into the float64 head for the pooled features; Hydra's stays
        explicit (a zero count stays zero), so the head is one product over both."""
        mean = network.mean.double().numpy()[self.batch_index]
        scale = network.scale.double().numpy()[self.batch_index]
        weight = network.head.weight.detach().double().numpy()[:, self.batch_index]
        n_pooled = len(self.pools) * self.n_bias
        weight[:, :n_pooled] /= scale[:n_pooled]
        self.head_weight = np.ascontiguousarray(weight)
        self.head_bias = network.head.bias.detach().double().numpy() - weight[:, :n_pooled] @ mean[:n_pooled]
        self.hydra_mean, self.hydra_scale = mean[n_pooled:], scale[n_pooled:]
        self.features = np.zeros(len(self.batch_index))

    def reset(self) -> None:
        """Forget every frame: the next one starts a new window."""
        self.count = 0
        self.mix = np.zeros((2 * self.history, self.n_mixes))  # each row twice: taps never wrap
        self.previous_sums = np.zeros(self.n_mixes)
        self.kernel_conv = np.zeros((self.ring, self.n_kernel))
        self.hydra_shares = np.zeros((self.ring, self.n_groups, 2, self.hydra_kernels))
        self.above = np.zeros(self.n_bias)  # PPV counts
        self.excess = np.zeros(self.n_bias)  # MPV sums
        self.frames = np.zeros(self.n_bias)  # MIPV: sums of the frames positive outputs came at
        self.hydra = np.zeros((self.n_groups, 2, self.hydra_kernels))  # wins, losses

    def step(self, variants: np.ndarray) -> np.ndarray:
        """Logits `[C]` float32 of the window ending at this frame; `variants [V, F]` as given by
        `FrameFeatures.push` (the last row is used, see the module docstring)."""
        t = self.count
        self.count += 1
        frames_in_window = min(self.count, self.window_length)
        series_length = frames_in_window - self.skip
        series_start = self.count - frames_in_window + self.skip

        ring = t % self.ring
        active = self.all_active if series_length >= self.max_need else series_length >= self.need
        slid = self.count > self.window_length and series_length > 0  # one output per kernel leaves
        old_start = series_start - 1
        convolve_frame(variants[-1], self.picks, self.is_difference, self.previous_sums, self.mix, t % self.history, self.history,
                       self.lags, self.kernel_weights, self.hydra_weights, active, self.kernel_conv[ring], self.hydra_shares[ring])
        slide(self.kernel_conv, ring, slid, float(t), old_start, self.span, active, self.bias_owner, self.bias, self.bias_span,
              self.above, self.excess, self.frames)
        slide_hydra(self.hydra_shares, ring, slid, old_start, self.span[self.n_kernel :], self.hydra)
        return self._logits(series_length, series_start)

    def _logits(self, series_length: int, series_start: int) -> np.ndarray:
        features(self.above, self.excess, self.frames, self._inverse_outputs(series_length), self.bias_centre, float(series_start),
                 self.pool_codes, self.hydra.reshape(-1), self.hydra_mean, self.hydra_scale, self.features)
        return (self.head_weight @ self.features + self.head_bias).astype(np.float32)

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
        self.mix_rep: list[int] = []
        self.mix_dilation: list[int] = []
        self.kernel_weights: list[np.ndarray] = []
        self.bias_mix: list[np.ndarray] = []
        self.bias_values: list[np.ndarray] = []
        self.bias_columns: list[np.ndarray] = []  # [pools, b] per kernel mix
        self.group_weights: list[np.ndarray] = []  # [k, 9] per Hydra mix
        self.group_columns: list[np.ndarray] = []  # [2, k] per Hydra mix (wins, losses)
        weights = minirocket_weights().numpy()
        offset = 0
        for rep, bank in enumerate(network.banks):
            for i, d in enumerate(bank.dilations):
                combination = getattr(bank, f"combination_{i}").numpy()
                bias = getattr(bank, f"bias_{i}").numpy()
                per_kernel = bias.shape[1]
                for k in range(N_KERNELS):
                    self._mix(combination[k], n_channels, rep, d)
                    self.kernel_weights.append(weights[k])
                    self.bias_mix.append(np.full(per_kernel, len(self.mixes) - 1))
                    self.bias_values.append(bias[k])
                    pools = np.arange(n_pools)[:, None] * N_KERNELS * per_kernel
                    self.bias_columns.append(offset + pools + k * per_kernel + np.arange(per_kernel))
                offset += n_pools * N_KERNELS * per_kernel
        self.n_kernel = len(self.mixes)
        for rep, bank in enumerate(network.hydra):
            for i, d in enumerate(bank.dilations):
                selection = getattr(bank, f"selection_{i}").numpy()
                weight = getattr(bank, f"weight_{i}").numpy()  # [g, k, 9]
                size = bank.groups * bank.kernels
                for g in range(bank.groups):
                    self._mix(selection[g], n_channels, rep, d)
                    self.group_weights.append(weight[g])
                    wins = offset + g * bank.kernels + np.arange(bank.kernels)
                    self.group_columns.append(np.stack([wins, wins + size]))
                offset += 2 * size
        self.bias_mix = np.concatenate(self.bias_mix) if self.bias_mix else np.zeros(0, np.int64)
        self.bias_values = np.concatenate(self.bias_values) if self.bias_values else np.zeros(0)

    def _mix(self, counts: np.ndarray, n_channels: int, rep: int, dilation: int) -> None:
        """A mix sums each channel as often as `counts` says."""
        self.mixes.append(np.repeat(np.arange(n_channels), np.rint(counts).astype(np.int64)))
        self.mix_rep.append(rep)
        self.mix_dilation.append(dilation)


SLIDING_CODES = {name: code for code, name in enumerate(SLIDING_POOLS)}


@numba.njit(cache=True, nogil=True)
def convolve_frame(frame: np.ndarray, picks: np.ndarray, is_difference: np.ndarray, previous: np.ndarray, mix: np.ndarray, slot: int,
                   history: int, lags: np.ndarray, kernel_weights: np.ndarray, hydra_weights: np.ndarray, active: np.ndarray,
                   conv: np.ndarray, shares: np.ndarray) -> None:
    """One frame in: its channel sums on the input grid (the difference series' as this frame's sums
    minus the last), written twice into the `mix` ring; the newest output of every kernel into
    `conv`; each Hydra kernel's share (its response where it wins its group, ties counting for
    every tied kernel; 1 where it loses; 0 for groups not `active` yet) into `shares [G, 2, k]`."""
    n_channels = frame.shape[0]
    row = np.empty(n_channels)
    for c in range(n_channels):
        row[c] = min(max(np.rint(np.float64(frame[c]) * INPUT_GRID) / INPUT_GRID, -INPUT_LIMIT), INPUT_LIMIT)
    for m in range(picks.shape[0]):
        total = 0.0
        for p in range(picks.shape[1]):
            if picks[m, p] < 0:
                break
            total += row[picks[m, p]]
        value = total - previous[m] if is_difference[m] else total
        previous[m] = total
        mix[slot, m] = value
        mix[slot + history, m] = value
    newest = slot + history
    n_kernel = conv.shape[0]
    for u in range(n_kernel):
        total = 0.0
        for j in range(lags.shape[1]):
            total += kernel_weights[u, j] * mix[newest - lags[u, j], u]
        conv[u] = total
    kernels = hydra_weights.shape[1]
    z = np.empty(kernels)
    for g in range(hydra_weights.shape[0]):
        m = n_kernel + g
        best, worst = -np.inf, np.inf
        for q in range(kernels):
            total = 0.0
            for j in range(lags.shape[1]):
                total += hydra_weights[g, q, j] * mix[newest - lags[m, j], m]
            z[q] = total
            best = max(best, total)
            worst = min(worst, total)
        for q in range(kernels):
            shares[g, 0, q] = best if (active[m] and z[q] == best) else 0.0
            shares[g, 1, q] = 1.0 if (active[m] and z[q] == worst) else 0.0


@numba.njit(cache=True, nogil=True)
def slide(conv: np.ndarray, ring: int, slid: bool, frame: float, old_start: int, span: np.ndarray, active: np.ndarray, owner: np.ndarray,
          bias: np.ndarray, bias_span: np.ndarray, above: np.ndarray, excess: np.ndarray, frames: np.ndarray) -> None:
    """Per bias: add the newest output of its kernel (`conv[ring]`, computed at `frame`) and, when
    the window slid, remove the leaving one (computed at `old_start + span`, still in the `conv`
    ring). Values on the input grid keep every sum exact, so the order of additions does not
    matter (batch predict sums in another order)."""
    size = conv.shape[0]
    for b in range(owner.shape[0]):
        unit = owner[b]
        if not active[unit]:
            continue
        over = conv[ring, unit] - bias[b]
        if over > 0.0:
            above[b] += 1.0
            excess[b] += over
            frames[b] += frame
        if slid:
            over = conv[(old_start + span[unit]) % size, unit] - bias[b]
            if over > 0.0:
                above[b] -= 1.0
                excess[b] -= over
                frames[b] -= old_start + bias_span[b]


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
def features(above: np.ndarray, excess: np.ndarray, frames: np.ndarray, inverse_outputs: np.ndarray, centre: np.ndarray,
             series_start: float, pools: np.ndarray, hydra: np.ndarray, hydra_mean: np.ndarray, hydra_scale: np.ndarray,
             out: np.ndarray) -> None:
    """The head's input: PPV, MPV and MIPV (codes 0, 1, 2 in `pools` order) of every bias, as
    `actrec.models.rocket.pool` defines them, then Hydra's standardised counts (a zero count stays
    zero)."""
    n = above.shape[0]
    for b in range(n):
        count = above[b]
        counted = count if count > 1.0 else 1.0
        for p in range(pools.shape[0]):
            code = pools[p]
            if code == 0:
                value = count * inverse_outputs[b]
            elif code == 1:
                value = excess[b] / counted
            elif count > 0.0:
                value = frames[b] / counted - centre[b] - series_start
            else:
                value = -1.0
            out[p * n + b] = value
    start = pools.shape[0] * n
    for i in range(hydra.shape[0]):
        raw = np.sqrt(max(hydra[i], 0.0))
        out[start + i] = 0.0 if raw == 0.0 else (raw - hydra_mean[i]) / hydra_scale[i]
