"""The state bank equals the network on every sliding window, for GRU/LSTM stacks of any depth,
both poolings and every head activation; models it cannot run say why."""

import numpy as np
import pytest
import torch

from actrec.models import build_model
from actrec.stream.recurrent import NumpyBank, TorchBankStep, incremental_blocker
from actrec.stream.runtimes import GraphBank, torch_step_fn

torch.set_num_threads(1)


def window_logits(network, sequence, width):
    """Logits of the network on the window ending at every frame (partial while warming up)."""
    out = []
    with torch.inference_mode():
        for end in range(len(sequence)):
            window = torch.from_numpy(sequence[max(0, end - width + 1) : end + 1])[None]
            out.append(network(window).numpy()[0])
    return np.stack(out)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "elu", "selu"])
def test_numpy_bank_equals_the_network_on_every_window(cell, pooling, activation):
    torch.manual_seed(0)
    network = build_model(
        cell, 7, 4, {"hidden_sizes": [12, 9, 5], "dense": [6], "pooling": pooling, "activation": activation}
    ).eval()
    sequence = np.random.default_rng(0).normal(size=(40, 7)).astype(np.float32)
    width = 11  # not a multiple of 8: padding columns in play
    bank = NumpyBank(network, width)
    got = np.stack([bank.step(frame[None]) for frame in sequence])
    np.testing.assert_allclose(got, window_logits(network, sequence, width), atol=2e-5)


def test_torch_bank_step_equals_the_network():
    torch.manual_seed(1)
    network = build_model("lstm", 5, 3, {"hidden_sizes": [8, 4], "dense": []}).eval()
    sequence = np.random.default_rng(1).normal(size=(25, 5)).astype(np.float32)
    step = TorchBankStep(network)
    bank = GraphBank(step, 6, torch_step_fn(step))
    got = np.stack([bank.step(frame[None]) for frame in sequence])
    np.testing.assert_allclose(got, window_logits(network, sequence, 6), atol=2e-5)


@pytest.mark.parametrize(
    "name, options, reason",
    [
        ("inception", {}, "whole window"),
        ("gru", {"bidirectional": True}, "bidirectional"),
        ("gru", {"pooling": "attention"}, "attention"),
    ],
)
def test_models_that_cannot_stream_incrementally_say_why(name, options, reason):
    assert reason in incremental_blocker(build_model(name, 4, 2, options))
