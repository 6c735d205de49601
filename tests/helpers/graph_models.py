"""What every skeleton graph network (`stgcn`, `ctrgcn`) must do, shared by their test files
(imported as `tests.helpers.graph_models`): ignore padding, refuse bad schemas and kernels, learn a task
only graph and time mixing can solve."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import build_model
from actrec.skeletons.schema import Schema

# a 5-joint tree rooted at c: c -> b -> a and c -> d -> e
CHAIN = Schema(name="chain5", joints=["a", "b", "c", "d", "e"], bones=[(2, 1), (1, 0), (2, 3), (3, 4)], root=2)


def assert_padding_is_ignored(model: nn.Module, n_features: int) -> None:
    """Padding of another length and content (even NaN) beyond each sample's length leaves the
    logits of `model` (in eval mode) unchanged."""
    x = torch.randn(3, 12, n_features)
    lengths = torch.tensor([12, 7, 4])
    for row, length in enumerate(lengths.tolist()):
        x[row, length:] = 0.0
    reference = model(x, lengths)
    padded = torch.cat([x, torch.full((3, 9, n_features), float("nan"))], dim=1)
    padded[1, 7:12] = 50.0
    assert torch.allclose(model(padded, lengths), reference, atol=1e-5)


def assert_bad_inputs_raise_config_errors(model: str) -> None:
    with pytest.raises(ConfigError, match="needs a skeleton schema"):
        build_model(model, 15, 2, {}, None)
    with pytest.raises(ConfigError, match="do not split over the 5 joints"):
        build_model(model, 16, 2, {}, CHAIN)
    with pytest.raises(ConfigError, match="odd"):
        build_model(model, 15, 2, {"temporal_kernel": 4}, CHAIN)


def assert_learns_which_chain_end_moves(model: nn.Module) -> None:
    """Class = which end of `CHAIN` moves (2 channels per joint); only graph and time mixing can
    tell. The training loss of `model` (2 classes) halves in 15 Adam steps."""
    torch.manual_seed(0)
    n, steps = 32, 12
    x = 0.1 * torch.randn(n, steps, 5, 2)
    y = torch.arange(n) % 2
    wave = torch.sin(torch.linspace(0, 6.28, steps))
    x[y == 0, :, 0, 0] += wave
    x[y == 1, :, 4, 0] += wave
    x = x.reshape(n, steps, 10)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x, None), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
