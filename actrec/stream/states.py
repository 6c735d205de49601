"""The per-frame state that streams a network, chosen by the `frame_state` its capabilities declare.

- recurrent: the staggered state bank of a GRU/LSTM stack (`recurrent.NumpyBank`);
- kernel: the running sums of a random-kernel model (`kernels.KernelStream`);
- ensemble: one state per member, probabilities averaged as `EnsembleNet` averages them.
Each takes the feature rows of one frame (`FrameFeatures.push`) and returns the logits of the window
ending there, equal to batch predict on that window.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
from torch import nn

from actrec.models.registry import network_capabilities
from actrec.stream.kernels import KernelStream
from actrec.stream.recurrent import NumpyBank


class FrameState(Protocol):
    how: str  # one phrase for `Streamer.describe`

    def step(self, variants: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


class EnsembleStream:
    """Members streamed side by side; logits are the log of their weighted mean probabilities."""

    how = "each member's per-frame state"

    def __init__(self, network: nn.Module, window_length: int) -> None:
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


STATES: dict[str, Callable[[nn.Module, int], FrameState]] = {
    "recurrent": NumpyBank,
    "kernel": KernelStream,
    "ensemble": EnsembleStream,
}


def frame_state(network: nn.Module, window_length: int) -> FrameState:
    """The state that streams `network` over windows of `window_length` frames. A one-member
    ensemble (the default model) streams as its member: the log of one member's probabilities
    gives the same softmax as its logits, without two softmaxes and a log per frame."""
    kind = network_capabilities(network).frame_state
    if kind not in STATES:
        raise ValueError(f"{type(network).__name__} declares no per-frame state; stream it by window")
    if kind == "ensemble" and len(network.members) == 1:
        return frame_state(network.members[0], window_length)
    return STATES[kind](network, window_length)
