"""The per-frame state that streams a network, chosen by the `frame_state` its capabilities declare.

- recurrent: the staggered state bank of a GRU/LSTM stack (`recurrent.NumpyBank`);
- kernel: the running sums of a random-kernel model (`kernels.KernelStream`);
- ensemble: one state per member, probabilities averaged as `EnsembleNet` averages them.
Each takes the feature rows of one frame (`FrameFeatures.push`) and returns the logits of the window
ending there, equal to batch predict on that window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

import numpy as np
from torch import nn

from actrec.export.graphs import onnx_session
from actrec.models.ensemble import EnsembleNet
from actrec.models.registry import network_capabilities
from actrec.models.rocket import RocketNet
from actrec.stream.kernel_graph import KernelGraphStream, KernelStep, kernel_step_onnx_bytes, onnx_step_fn
from actrec.stream.kernels import KernelStream
from actrec.stream.recurrent import NumpyBank
from actrec.stream.runtimes import torch_step_fn


class FrameState(Protocol):
    how: str  # one phrase for `Streamer.describe`

    def step(self, variants: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


class EnsembleStream:
    """Members streamed side by side; logits are the log of their weighted mean probabilities."""

    how = "each member's per-frame state"

    def __init__(self, network: EnsembleNet, window_length: int) -> None:
        self.members = [frame_state(member, window_length) for member in network.members]
        self.weights = network.weights.double().numpy()

    def reset(self) -> None:
        for member in self.members:
            member.reset()

    def step(self, variants: np.ndarray) -> np.ndarray:
        proba = np.zeros(1)
        for weight, member in zip(self.weights, self.members):
            logits = member.step(variants).astype(np.float64)
            shifted = np.exp(logits - logits.max())
            proba = proba + weight * shifted / shifted.sum()
        return np.log(np.maximum(proba, 1e-12)).astype(np.float32)


# each state takes the network its capability names (RecurrentNet, RocketNet, EnsembleNet)
STATES: dict[str, Callable[[Any, int], FrameState]] = {
    "recurrent": NumpyBank,
    "kernel": KernelStream,
    "ensemble": EnsembleStream,
}


def single(network: nn.Module) -> nn.Module:
    """A one-member ensemble (the default model) streams as its member: the log of one member's
    probabilities gives the same softmax as its logits, without two softmaxes and a log per frame."""
    if (
        network_capabilities(network).frame_state == "ensemble"
        and len(members := cast(EnsembleNet, network).members) == 1
    ):
        return single(members[0])
    return network


def frame_state(network: nn.Module, window_length: int) -> FrameState:
    """The state that streams `network` over windows of `window_length` frames."""
    network = single(network)
    kind = network_capabilities(network).frame_state
    if kind not in STATES:
        raise ValueError(f"{type(network).__name__} declares no per-frame state; stream it by window")
    return STATES[kind](network, window_length)


def graph_state(network: nn.Module, window_length: int, runtime: str, metadata: dict) -> FrameState | None:
    """The kernel state run as a graph by `runtime` ("torch" or "onnx": `kernel_graph.KernelStep`,
    the step a non-Python runtime runs), or None where only NumPy streams it (ensembles of several
    members)."""
    network = single(network)
    if network_capabilities(network).frame_state != "kernel":
        return None
    stream = KernelStream(cast(RocketNet, network), window_length)
    step = KernelStep(stream).eval()
    if runtime == "torch":
        return KernelGraphStream(stream, torch_step_fn(step))
    return KernelGraphStream(stream, onnx_step_fn(onnx_session(kernel_step_onnx_bytes(step, stream, metadata))))
