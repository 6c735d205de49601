"""A random-kernel model's per-frame step as a graph: state in, state out (torch, or ONNX for
runtimes that are not Python).

`KernelStep` does what `kernels.KernelStream.step` does, as tensor operations on float64 states
(`STATE_NAMES`): put the frame on the input grid, add it to the channel-sum series ring, compute
each kernel's newest output and Hydra's shares, add them to the running sums and remove the
ones leaving the window, read the standardised features and apply the head. Every sum is exact
on the input grid, so its logits equal the compiled stream's (and batch predict's) up to the
order of the head's float64 sum. `KernelGraphStream` keeps the states as NumPy arrays between
frames, as `runtimes.GraphBank` does for recurrent stacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from actrec.export.graphs import onnx_bytes
from actrec.models.registry import network_capabilities
from actrec.models.rocket import KERNEL_LENGTH, SLIDING_POOLS, RocketNet, on_input_grid
from actrec.stream.kernels import KernelStream

STATE_NAMES = ["series", "previous", "conv", "shares", "above", "excess", "frames", "hydra"]
StepFn = Callable[..., tuple[np.ndarray, ...]]


def _buffer(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype)


class KernelStep(nn.Module):
    """forward(features [F] float32, count [] int64 (frames before this one), *states) ->
    (logits [C] float32, *states updated); states as `KernelStream.state()`."""

    mixing: torch.Tensor
    is_difference: torch.Tensor
    lags: torch.Tensor
    series_of: torch.Tensor
    positions: torch.Tensor
    coefficients: torch.Tensor
    hydra_weights: torch.Tensor
    need: torch.Tensor
    span: torch.Tensor
    owner: torch.Tensor
    bias: torch.Tensor
    outputs_less: torch.Tensor
    centre: torch.Tensor
    mean: torch.Tensor
    inverse_scale: torch.Tensor
    head_weight: torch.Tensor
    head_bias: torch.Tensor

    def __init__(self, stream: KernelStream) -> None:
        super().__init__()
        s = stream
        self.window, self.skip, self.history, self.ring = s.window_length, s.skip, s.history, s.ring
        self.input_grid = s.input_grid
        self.n_kernel, self.n_series = s.n_kernel, len(s.picks)
        self.hydra_groups = (
            s.n_groups
        )  # 0 (MiniRocket, MultiRocket): no Hydra ops in the graph (empty tensors crash onnxruntime)
        counts = np.zeros((self.n_series, s.n_channels))
        for m, (picks, signs) in enumerate(zip(s.picks, s.pick_signs)):
            np.add.at(counts[m], picks[picks >= 0], signs[picks >= 0])
        self.register_buffer("mixing", _buffer(counts, torch.float64))  # series sums = mixing @ frame
        self.register_buffer("is_difference", _buffer(s.is_difference, torch.bool))
        lags = (KERNEL_LENGTH - 1 - np.arange(KERNEL_LENGTH))[None, :] * s.dilation[:, None]
        self.register_buffer("lags", _buffer(lags, torch.int64))  # [mixes, 9]
        self.register_buffer("series_of", _buffer(s.series_of, torch.int64))
        self.register_buffer("positions", _buffer(s.kernel_positions, torch.int64))
        self.register_buffer(
            "coefficients", _buffer(s.kernel_coefficients, torch.float64)
        )  # [kernels, 2] (`rocket.kernel_taps`)
        self.register_buffer("hydra_weights", _buffer(s.hydra_weights, torch.float64))
        self.register_buffer("need", _buffer(s.need, torch.int64))
        self.register_buffer("span", _buffer(s.span, torch.int64))
        self.register_buffer("owner", _buffer(s.bias_owner, torch.int64))
        self.register_buffer("bias", _buffer(s.bias, torch.float64))
        self.register_buffer("outputs_less", _buffer(s.bias_outputs_less, torch.int64))
        self.register_buffer("centre", _buffer(s.bias_centre, torch.float64))
        self.register_buffer("mean", _buffer(s.mean, torch.float64))
        self.register_buffer("inverse_scale", _buffer(s.inverse_scale, torch.float64))
        self.register_buffer("head_weight", _buffer(s.head_weight, torch.float64))
        self.register_buffer("head_bias", _buffer(s.head_bias, torch.float64))
        self.pools = [name for name in s.pools if name in SLIDING_POOLS]

    def forward(
        self,
        features: torch.Tensor,
        count: torch.Tensor,
        series: torch.Tensor,
        previous: torch.Tensor,
        conv: torch.Tensor,
        shares: torch.Tensor,
        above: torch.Tensor,
        excess: torch.Tensor,
        frames: torch.Tensor,
        hydra: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        t = count
        now = t + 1
        in_window = torch.clamp(now, max=self.window)
        series_length = in_window - self.skip
        series_start = now - in_window + self.skip
        old_start = series_start - 1
        active = series_length >= self.need  # [mixes]
        slid = (now > self.window) & (series_length > 0)

        row = on_input_grid(features.double(), self.input_grid)
        total = self.mixing @ row
        value = torch.where(self.is_difference, total - previous, total)
        slot = torch.remainder(t, self.history)
        rows = torch.arange(2 * self.history)
        series = torch.where(((rows == slot) | (rows == slot + self.history))[:, None], value[None, :], series)
        newest = slot + self.history
        taps = series.reshape(-1)[(newest - self.lags) * self.n_series + self.series_of[:, None]]  # [mixes, 9]

        kernel_taps = taps[: self.n_kernel]
        chosen = torch.gather(kernel_taps, 1, self.positions).sum(1)
        conv_new = self.coefficients[:, 0] * chosen + self.coefficients[:, 1] * kernel_taps.sum(1)
        zero = torch.zeros((), dtype=torch.float64)
        ring = torch.remainder(t, self.ring)
        ring_rows = torch.arange(self.ring) == ring
        conv = torch.where(ring_rows[:, None], conv_new[None, :], conv)
        leaving_row = torch.remainder(old_start + self.span, self.ring)  # [mixes]
        if self.hydra_groups:
            z = torch.matmul(self.hydra_weights, taps[self.n_kernel :, :, None])[..., 0]  # [G, k]
            best, worst = z.max(1, keepdim=True).values, z.min(1, keepdim=True).values
            hydra_active = active[self.n_kernel :, None]
            wins = torch.where(hydra_active & (z == best), best.expand_as(z), zero)
            losses = torch.where(hydra_active & (z == worst), torch.ones((), dtype=torch.float64), zero)
            shares = torch.where(ring_rows[:, None, None, None], torch.stack([wins, losses], 1)[None], shares)
            hydra_left = shares[leaving_row[self.n_kernel :], torch.arange(self.hydra_groups)]  # [G, 2, k]
            hydra = hydra + shares[ring] - torch.where(slid, hydra_left, zero)

        kernel_active = active[: self.n_kernel]
        minus_inf = torch.full((), -float("inf"), dtype=torch.float64)
        arrived = torch.where(kernel_active, conv_new, minus_inf)
        units = torch.arange(self.n_kernel)
        left = torch.where(kernel_active & slid, conv[leaving_row[: self.n_kernel], units], minus_inf)
        leaving_frame = (old_start + self.span[: self.n_kernel]).double()
        over = arrived[self.owner] - self.bias
        gone = left[self.owner] - self.bias
        positive, leaving = (over > 0).double(), (gone > 0).double()
        above = above + positive - leaving
        excess = excess + torch.clamp(over, min=0.0) - torch.clamp(gone, min=0.0)
        frames = frames + t.double() * positive - leaving_frame[self.owner] * leaving

        counted = torch.clamp(above, min=1.0)
        pooled = {
            "ppv": above / torch.clamp(series_length - self.outputs_less, min=1).double(),
            "mpv": excess / counted,
            "mipv": torch.where(
                above > 0, frames / counted - self.centre - series_start.double(), -torch.ones((), dtype=torch.float64)
            ),
        }
        raw = torch.cat([pooled[name] for name in self.pools])
        n_pooled = raw.shape[0]
        standard = (raw - self.mean[:n_pooled]) * self.inverse_scale[:n_pooled]
        if self.hydra_groups:
            counts = torch.sqrt(torch.clamp(hydra.reshape(-1), min=0.0))
            standard = torch.cat(
                [
                    standard,
                    torch.where(counts == 0, zero, (counts - self.mean[n_pooled:]) * self.inverse_scale[n_pooled:]),
                ]
            )
        logits = (self.head_weight @ standard + self.head_bias).float()
        return logits, series, total, conv, shares, above, excess, frames, hydra


class KernelGraphStream:
    """`KernelStream`'s interface over a `KernelStep` run by `run` (torch or onnxruntime)."""

    how = "running sums of the kernel features, as a graph (a per-frame cost independent of the window)"

    def __init__(self, stream: KernelStream, run: StepFn) -> None:
        self.template = stream
        self.run = run
        self.reset()

    def reset(self) -> None:
        self.template.reset()
        self.count = self.template.count
        self.states = [np.copy(array) for array in self.template.state()]

    def step(self, variants: np.ndarray) -> np.ndarray:
        logits, *self.states = self.run(
            np.ascontiguousarray(variants[-1], np.float32), np.array(self.count, np.int64), *self.states
        )
        self.count += 1
        return logits


def onnx_step_fn(session) -> StepFn:  # session: onnxruntime.InferenceSession
    names = ["features", "count", *STATE_NAMES]
    outputs = ["logits", *(f"{name}_out" for name in STATE_NAMES)]

    def run(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(session.run(outputs, dict(zip(names, arrays))))

    return run


def kernel_step_onnx_bytes(step: KernelStep, stream: KernelStream, metadata: dict) -> bytes:
    """`step` as ONNX: inputs `features`, `count` and `STATE_NAMES`, outputs `logits` and each
    state as `<name>_out`; `metadata` as in the window graph, with `kind` "kernel_step"."""
    states = stream.state()
    example = (torch.zeros(stream.n_channels), torch.tensor(0), *(torch.from_numpy(state) for state in states))
    outputs = ["logits", *(f"{name}_out" for name in STATE_NAMES)]
    return onnx_bytes(
        step, example, ["features", "count", *STATE_NAMES], outputs, {}, metadata | {"kind": "kernel_step"}
    )


def export_kernel_step(recognizer: Any, path: Path, frames: int = 300, seed: int = 0) -> float | None:
    """Write the default or another random-kernel model's per-frame step as ONNX to `path` and
    return the largest |logit| difference from the compiled stream over `frames` random frames
    (None, nothing written: the model has no kernel state, e.g. several ensemble members).

    The graph takes one frame's row of the fitted feature pipeline (`FrameFeatures.push(...)[-1]`;
    for sensor models `(raw - mean) / std` of the pipeline's `standardize` step, which the
    metadata's `pipeline` holds) and `count`, the frames pushed before it. A stream starts from
    zero states and first pushes `zero_rows_first` (metadata) rows of zeros, as
    `KernelStream.reset` does."""
    from actrec.export.graphs import model_metadata, onnx_session
    from actrec.io.atomic import atomic_path
    from actrec.stream.features import FrameFeatures
    from actrec.stream.states import single

    network = cast(RocketNet, single(recognizer.network.eval()))
    if network_capabilities(network).frame_state != "kernel":
        return None
    window = int(recognizer.window_length)
    stream = KernelStream(network, window)
    metadata = model_metadata(recognizer, window) | {
        "pipeline": recognizer.pipeline.get_state(),
        "state_names": STATE_NAMES,
        "zero_rows_first": window if network.config.left_pad else 0,
    }
    model_bytes = kernel_step_onnx_bytes(KernelStep(stream).eval(), stream, metadata)
    graph, compiled, features = (
        KernelGraphStream(stream, onnx_step_fn(onnx_session(model_bytes))),
        KernelStream(network, window),
        FrameFeatures(recognizer.pipeline),
    )
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(frames):
        rows = features.push(rng.normal(size=recognizer.frame_shape).astype(np.float32))
        worst = max(worst, float(np.abs(graph.step(rows) - compiled.step(rows)).max()))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(model_bytes)
    return worst
