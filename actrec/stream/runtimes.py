"""Where the network runs while streaming: NumPy, eager torch or onnxruntime.

Two shapes of work: a *bank* (recurrent models, O(1) per frame, see `recurrent.py`) and a
*window* (every other model: the whole window through the network at each frame, on a ring
buffer). Both return the logits of the window that ends at the newest frame. The ONNX graphs
are built by `actrec.export.graphs`; this module only drives them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.stream.features import FrameFeatures
from actrec.stream.recurrent import TorchBankStep

RUNTIMES = ("auto", "numpy", "torch", "onnx")


def resolve_runtime(runtime: str, incremental: bool) -> str:
    """`auto`: the NumPy bank for incremental models; onnxruntime (about 2x eager torch on a
    window) for window models when it is installed, torch otherwise. NumPy cannot run a window
    model, so `numpy` means torch there."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime '{runtime}'; choose one of: {', '.join(RUNTIMES)}")
    if incremental:
        return "numpy" if runtime == "auto" else runtime
    if runtime == "auto":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "torch"
        return "onnx"
    return "torch" if runtime == "numpy" else runtime


LogitsFn = Callable[..., tuple[np.ndarray, ...]]


class GraphBank:
    """The staggered state bank driven through a graph (torch or ONNX) of `TorchBankStep`.

    Keeps the states as NumPy arrays; zeroes the starting row, feeds every row its features and
    picks the row whose window ends now.
    """

    how = "a staggered state bank (one batched step over the window's states: its cost grows with the window)"

    def __init__(self, step: TorchBankStep, window_length: int, run: LogitsFn) -> None:
        self.window_length = window_length
        self.run = run
        sizes = [cast(nn.RNNCellBase, cell).hidden_size for cell in step.cells]
        self.states = [np.zeros((window_length, size), np.float32) for size in sizes]
        if step.lstm:
            self.states += [np.zeros((window_length, size), np.float32) for size in sizes]
        self.sums = np.zeros((window_length, sizes[-1]), np.float32)
        self.age = np.zeros(window_length, np.int64)
        self.count = 0

    def reset(self) -> None:
        for state in self.states:
            state.fill(0.0)
        self.sums.fill(0.0)
        self.age.fill(0)
        self.count = 0

    def step(self, variants: np.ndarray) -> np.ndarray:
        start_row = self.count % self.window_length
        for state in self.states:
            state[start_row] = 0.0
        self.sums[start_row] = 0.0
        self.age[start_row] = 0
        # One feature row broadcasts over every window; otherwise each window gets its own row.
        rows = variants if variants.shape[0] == 1 else variants[np.minimum(self.age, variants.shape[0] - 1)]
        self.age += 1
        self.count += 1
        steps = self.age.astype(np.float32)[:, None]
        logits, self.sums, *self.states = self.run(rows, steps, self.sums, *self.states)
        return logits[max(0, self.count - self.window_length) % self.window_length]


class WindowRunner:
    """Ring buffer of the last W frames; the whole (partial, before W frames) window per push.

    Holds feature rows when the pipeline is per-frame, raw frames otherwise (so steps with
    context see the window start exactly as batch predict does).
    """

    def __init__(self, features: FrameFeatures, window_length: int, run: Callable[[np.ndarray], np.ndarray]) -> None:
        self.features = features
        self.window_length = window_length
        self.run = run
        self.buffer: np.ndarray | None = None
        self.count = 0

    def reset(self) -> None:
        self.count = 0

    def push(self, frame: np.ndarray, variants: np.ndarray | None) -> np.ndarray:
        """Logits `[C]`; `variants` are this frame's feature rows, None for raw buffering."""
        row = frame if variants is None else variants[-1]
        width = self.window_length
        if self.buffer is None or self.buffer.shape[1:] != row.shape:
            self.buffer = np.zeros((2 * width,) + row.shape, np.float32)
        # Each row is written twice, so the window is always one contiguous slice.
        slot = self.count % width
        self.buffer[slot] = row
        self.buffer[slot + width] = row
        self.count += 1
        length = min(self.count, width)
        start = (self.count - length) % width
        window = self.buffer[start : start + length]
        if variants is None:
            window = np.nan_to_num(self.features.transform_window(window), copy=False)
        return self.run(window)


def torch_window_fn(network: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    def run(window: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            lengths = torch.tensor([window.shape[0]], dtype=torch.long)
            return network(torch.from_numpy(np.ascontiguousarray(window))[None], lengths)[0].numpy()

    return run


def torch_step_fn(step: nn.Module) -> LogitsFn:
    """Any state step (`TorchBankStep`, `kernel_graph.KernelStep`) on NumPy arrays in eager torch."""

    def run(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        with torch.inference_mode():
            outputs = step(*(torch.from_numpy(np.ascontiguousarray(array)) for array in arrays))
        return tuple(output.numpy() for output in outputs)

    return run


def onnx_window_fn(session) -> Callable[[np.ndarray], np.ndarray]:
    def run(window: np.ndarray) -> np.ndarray:
        feeds = {"features": np.ascontiguousarray(window[None]), "lengths": np.array([window.shape[0]], np.int64)}
        return session.run(["logits"], feeds)[0][0]

    return run


def onnx_bank_fn(session, step: TorchBankStep) -> LogitsFn:
    """Call the bank graph with `TorchBankStep.forward`'s argument order (the exporter drops
    inputs the graph never reads, e.g. `steps` under last pooling)."""
    names = ["features", "steps", "sums", *step.state_names]
    present = {node.name for node in session.get_inputs()}
    outputs = ["logits", "sums_out", *(f"{name}_out" for name in step.state_names)]

    def run(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(session.run(outputs, {n: a for n, a in zip(names, arrays) if n in present}))

    return run
