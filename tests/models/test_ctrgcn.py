"""CTR-GCN: shapes, padding invariance, the directed graph it starts from, and that it learns."""

import numpy as np
import pytest
import torch

from actrec.errors import ConfigError
from actrec.models.ctrgcn import directed_partitions
from actrec.models.registry import build_model
from actrec.skeletons import get_schema
from actrec.skeletons.schema import Schema

torch.set_num_threads(1)

# a 5-joint tree rooted at c: c -> b -> a and c -> d -> e
CHAIN = Schema(name="chain5", joints=["a", "b", "c", "d", "e"], bones=[(2, 1), (1, 0), (2, 3), (3, 4)], root=2)


def tiny(schema, n_channels: int = 3, n_classes: int = 4, **options):
    options = {"channels": [8, 8, 16], "temporal_kernel": 3, **options}
    return build_model("ctrgcn", len(schema.joints) * n_channels, n_classes, options, schema)


def trained_a_little(model, n_features: int):
    """A few steps so BatchNorm statistics and the refinement scale alpha are no longer neutral."""
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        model(torch.randn(8, 12, n_features)).logsumexp(1).mean().backward()
        optimiser.step()
        optimiser.zero_grad()
    return model.eval()


def test_logits_have_one_row_per_sample_and_lengths_none_means_all_steps():
    torch.manual_seed(0)
    model = tiny(get_schema("coco17")).eval()
    x = torch.randn(4, 16, 17 * 3)
    logits = model(x, torch.tensor([16, 3, 9, 1]))
    assert logits.shape == (4, 4) and torch.isfinite(logits).all()
    assert torch.allclose(model(x, None), model(x, torch.tensor([16] * 4)))


def test_appending_padding_beyond_length_does_not_change_logits():
    torch.manual_seed(0)
    model = trained_a_little(tiny(get_schema("coco17")), 51)
    assert all(block.graph.alpha.item() != 0 for block in model.blocks)
    x = torch.randn(3, 12, 51)
    lengths = torch.tensor([12, 7, 4])
    for row, length in enumerate(lengths.tolist()):
        x[row, length:] = 0.0
    reference = model(x, lengths)
    padded = torch.cat([x, torch.full((3, 9, 51), float("nan"))], dim=1)
    padded[1, 7:12] = 50.0
    assert torch.allclose(model(padded, lengths), reference, atol=1e-5)


def test_partitions_are_self_links_then_inward_and_outward_bones():
    identity, inward, outward = directed_partitions(CHAIN)
    assert np.array_equal(identity, np.eye(5))
    # the parent c gathers from its children b and d, each of which sends to one joint
    assert inward[2, 1] == inward[2, 3] == 1.0 and inward[1, 2] == 0.0
    assert outward[1, 2] == outward[3, 2] == 0.5  # c sends to two children: weight 1/2 each
    assert np.array_equal(inward > 0, (outward > 0).T)
    sends = inward.sum(axis=0)
    assert np.allclose(sends[sends > 0], 1.0)


def test_bad_inputs_raise_config_errors():
    with pytest.raises(ConfigError, match="needs a skeleton schema"):
        build_model("ctrgcn", 15, 2, {}, None)
    with pytest.raises(ConfigError, match="do not split over the 5 joints"):
        build_model("ctrgcn", 16, 2, {}, CHAIN)
    with pytest.raises(ConfigError, match="odd"):
        build_model("ctrgcn", 15, 2, {"temporal_kernel": 4}, CHAIN)
    with pytest.raises(ConfigError, match="one per temporal branch"):
        build_model("ctrgcn", 15, 2, {"channels": [2, 8]}, CHAIN)


def test_loss_falls_on_a_tiny_graph_task():
    """Class = which end of the chain moves; only the graph and time mixing can tell."""
    torch.manual_seed(0)
    n, steps = 32, 12
    x = 0.1 * torch.randn(n, steps, 5, 2)
    y = torch.arange(n) % 2
    wave = torch.sin(torch.linspace(0, 6.28, steps))
    x[y == 0, :, 0, 0] += wave
    x[y == 1, :, 4, 0] += wave
    x = x.reshape(n, steps, 10)
    model = tiny(CHAIN, n_channels=2, n_classes=2)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x, None), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
