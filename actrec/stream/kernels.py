"""O(features)-per-frame streaming of random-kernel models, equal to batch predict on every window.

A `RocketNet` pools valid convolution outputs (see `actrec.models.rocket`). When the sliding window
gains a frame, each kernel at dilation d gains one output, centred 4d frames back, and loses the one
centred 4d frames after the old window start. So the window's features are running sums:
- PPV: how many outputs lie above each bias; MPV: the sum of their excess; MIPV: the sum of the
  frames at which the positive ones were computed (turned into mean centre steps when read);
- Hydra: each kernel's summed winning response and its count of losses, kept per frame in a ring
  so the leaving frame's share is subtracted exactly as it was added.
A frame costs one gather of channel sums, one gather of the nine taps of every kernel, and a few
vector operations over the biases; nothing grows with the window but the ring buffers.

Frames are put on the kernels' input grid (`rocket.on_input_grid`), where every convolution output
is exact, so the comparisons with the biases are the ones batch predict makes, bit for bit, and the
running sums (float64) stay exact; both heads run in float64. `KernelStream.step` takes the feature rows of `actrec.stream.features.FrameFeatures`
and reads the last one (the row of a frame whose window started long ago): the model never reads
the first `skip_steps` steps of a window, where rows differ.

Stream order: mixes (channel sums) are [kernel series, kernel differences, Hydra series, Hydra
differences]; the pooled features are one vector per pool over every kernel bias, then Hydra's
wins and losses kernel-major (`[k, groups]`: the group maximum is a reduction over rows).
`batch_index` maps each to its column in `RocketNet.raw_features`; the standardisation and head
are gathered into that order once.
"""

from __future__ import annotations

import numpy as np

from actrec.models.rocket import HALF, INPUT_GRID, INPUT_LIMIT, KERNEL_LENGTH, KERNEL_POSITIONS, N_KERNELS, RocketNet


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
        # channel sums as one dense product: 0/1 (or 2) weights on float32 values, exact in float64
        self.mixing = np.zeros((len(mixes), self.n_channels))
        for m, picks in enumerate(mixes):
            np.add.at(self.mixing[m], picks, 1.0)
        self.n_mixes, self.n_kernel = len(mixes), layout.n_kernel
        self.n_groups = self.n_mixes - self.n_kernel
        is_difference = np.flatnonzero(rep == 1)
        # the differences' mixes are two runs (kernel, Hydra): slices, not fancy indexes
        runs = np.split(is_difference, np.flatnonzero(np.diff(is_difference) > 1) + 1) if len(is_difference) else []
        self.difference_slices = [slice(int(r[0]), int(r[-1]) + 1) for r in runs]
        self.history = int((KERNEL_LENGTH - 1) * dilation.max()) + 1
        lags = (KERNEL_LENGTH - 1 - np.arange(KERNEL_LENGTH))[None, :] * dilation[:, None]
        self.tap_offsets = -lags * self.n_mixes + np.arange(self.n_mixes)[:, None]
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
        self.leaving_units = np.arange(self.n_kernel)

        self.hydra_weights = np.stack(layout.group_weights, axis=1) if self.n_groups else np.zeros((1, 0, KERNEL_LENGTH))
        self.hydra_kernels = self.hydra_weights.shape[0]
        cells = 2 * self.hydra_kernels * self.n_groups
        self.share_cells = np.arange(cells).reshape(2, self.hydra_kernels, self.n_groups)
        hydra_columns = np.stack(layout.group_columns, axis=-1) if self.n_groups else np.zeros((2, self.hydra_kernels, 0), np.int64)
        pooled_columns = np.concatenate(layout.bias_columns, axis=1) if self.n_bias else np.zeros((len(self.pools), 0), np.int64)
        self.batch_index = np.concatenate([pooled_columns.reshape(-1), hydra_columns.reshape(-1)])
        self._fold_head(network)
        self._outputs_for: tuple[int, np.ndarray] | None = None
        self.reset()

    def _fold_head(self, network: RocketNet) -> None:
        """The standardisation folded into the float64 head for the pooled features; Hydra's stays
        explicit (a zero count stays zero)."""
        mean = network.mean.double().numpy()[self.batch_index]
        scale = network.scale.double().numpy()[self.batch_index]
        weight = network.head.weight.detach().double().numpy()[:, self.batch_index]
        n_pooled = len(self.pools) * self.n_bias
        self.pooled_weight = np.ascontiguousarray(weight[:, :n_pooled] / scale[:n_pooled])
        self.head_bias = network.head.bias.detach().double().numpy() - self.pooled_weight @ mean[:n_pooled]
        self.hydra_mean, self.hydra_scale = mean[n_pooled:], scale[n_pooled:]
        self.hydra_weight = np.ascontiguousarray(weight[:, n_pooled:])
        self.pooled = np.zeros(n_pooled)

    def reset(self) -> None:
        """Forget every frame: the next one starts a new window."""
        self.count = 0
        self.mix = np.zeros((2 * self.history, self.n_mixes))  # each row twice: taps never wrap
        self.flat_mix = self.mix.reshape(-1)
        self.previous_sums = np.zeros(self.n_mixes)
        self.kernel_conv = np.zeros((self.ring, self.n_kernel))
        self.flat_conv = self.kernel_conv.reshape(-1)
        self.hydra_shares = np.zeros((self.ring, 2, self.hydra_kernels, self.n_groups))
        self.flat_shares = self.hydra_shares.reshape(-1)
        self.above = np.zeros(self.n_bias)  # PPV counts
        self.excess = np.zeros(self.n_bias)  # MPV sums
        self.frames = np.zeros(self.n_bias)  # MIPV: sums of the frames positive outputs came at
        self.hydra = np.zeros((2, self.hydra_kernels, self.n_groups))  # wins, losses

    def step(self, variants: np.ndarray) -> np.ndarray:
        """Logits `[C]` float32 of the window ending at this frame; `variants [V, F]` as given by
        `FrameFeatures.push` (the last row is used, see the module docstring)."""
        t = self.count
        self.count += 1
        frames_in_window = min(self.count, self.window_length)
        series_length = frames_in_window - self.skip
        series_start = self.count - frames_in_window + self.skip

        row = np.clip(np.round(variants[-1].astype(np.float64) * INPUT_GRID) / INPUT_GRID, -INPUT_LIMIT, INPUT_LIMIT)
        sums = self.mixing @ row  # [mixes] channel sums
        current = sums.copy()
        for part in self.difference_slices:  # the difference series: this frame's sums minus the last
            sums[part] -= self.previous_sums[part]
        self.previous_sums = current
        slot = t % self.history
        self.mix[slot] = sums
        self.mix[slot + self.history] = sums
        taps = self.flat_mix[(slot + self.history) * self.n_mixes + self.tap_offsets]  # [mixes, 9]

        ring = t % self.ring
        conv = self.kernel_conv[ring]
        np.einsum("uj,uj->u", taps[: self.n_kernel], self.kernel_weights, out=conv)
        shares = self.hydra_shares[ring]
        if self.n_groups:
            self._hydra_shares(np.einsum("kgj,gj->kg", self.hydra_weights, taps[self.n_kernel :]), shares)

        active = None if series_length >= self.max_need else series_length >= self.need
        if active is not None:  # warming up (or a window too short for some dilations)
            shares *= active[self.n_kernel :]
        self._pool(conv, t, 1, None if active is None else active[self.bias_owner])
        self.hydra += shares
        if self.count > self.window_length and series_length > 0:  # the window slid: one output leaves
            old_start = series_start - 1
            rows = (old_start + self.span) % self.ring
            leaving = self.flat_conv[rows[: self.n_kernel] * self.n_kernel + self.leaving_units]
            self._pool(leaving, old_start + self.bias_span, -1, None if active is None else active[self.bias_owner])
            self.hydra -= self.flat_shares[self.share_cells + rows[self.n_kernel :] * self.share_cells.size]
        return self._logits(series_length, series_start)

    def _hydra_shares(self, z: np.ndarray, out: np.ndarray) -> None:
        """Per kernel `[k, groups]`: its response where it wins its group, ties counting for every
        tied kernel; and 1 where it loses."""
        best = z.max(0)
        np.multiply(z == best, best, out=out[0])
        np.equal(z, z.min(0), out=out[1])

    def _pool(self, conv: np.ndarray, frame: int | np.ndarray, sign: int, on: np.ndarray | None) -> None:
        """Add (sign 1) or remove (-1) the kernel outputs `conv [kernel mixes]` computed at `frame`."""
        excess = conv[self.bias_owner]
        excess -= self.bias
        positive = excess > 0
        if on is not None:
            positive &= on
            excess *= on
        np.maximum(excess, 0.0, out=excess)
        if sign > 0:
            self.above += positive
            self.excess += excess
            np.add(self.frames, frame, out=self.frames, where=positive)
        else:
            self.above -= positive
            self.excess -= excess
            np.subtract(self.frames, frame, out=self.frames, where=positive)

    def _logits(self, series_length: int, series_start: int) -> np.ndarray:
        n = self.n_bias
        counted = np.maximum(self.above, 1.0)
        for p, name in enumerate(self.pools):
            part = self.pooled[p * n : (p + 1) * n]
            if name == "ppv":
                np.multiply(self.above, self._inverse_outputs(series_length), out=part)
            elif name == "mpv":
                np.divide(self.excess, counted, out=part)
            else:
                np.divide(self.frames, counted, out=part)
                part -= self.bias_centre
                part -= series_start
                part[self.above == 0] = -1.0
        logits = self.pooled_weight @ self.pooled + self.head_bias
        if self.n_groups:
            raw = np.sqrt(np.maximum(self.hydra.reshape(-1), 0.0))
            z = (raw - self.hydra_mean) / self.hydra_scale
            z[raw == 0] = 0.0
            logits += self.hydra_weight @ z
        return logits.astype(np.float32)

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
        weights = -np.ones((N_KERNELS, KERNEL_LENGTH))
        weights[np.arange(N_KERNELS)[:, None], KERNEL_POSITIONS] = 2.0
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
