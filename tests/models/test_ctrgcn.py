"""CTR-GCN: shapes, padding invariance, the directed graph it starts from, and that it learns."""

import numpy as np
import pytest
import torch

from actrec.errors import ConfigError
from actrec.models.ctrgcn import directed_partitions
from actrec.models.registry import build_model
from actrec.skeletons import get_schema
from tests.helpers.graph_models import (
    CHAIN,
    assert_bad_inputs_raise_config_errors,
    assert_learns_which_chain_end_moves,
    assert_padding_is_ignored,
)

torch.set_num_threads(1)


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
    assert_padding_is_ignored(model, 51)


def test_graph_convolution_is_open_from_the_start():
    """Each block's graph path starts at full scale (not the paper's 1e-6, which Adam takes
    hundreds of steps to open), so the untrained network already mixes joints: moving one
    joint changes the features of the others."""
    torch.manual_seed(0)
    model = tiny(CHAIN, n_channels=2).eval()
    x = torch.randn(1, 12, 10)
    moved = x.clone()
    moved[..., 0] += 5.0  # joint a only
    first = model.blocks[0]
    lengths, mask = torch.tensor([12]), torch.ones(1, 1, 12, 1, dtype=torch.bool)
    before, after = (first.graph(h.view(1, 12, 5, 2).permute(0, 3, 1, 2), mask, lengths) for h in (x, moved))
    assert (after - before)[..., 1].abs().max() > 0.1  # joint b, a's neighbour, sees it


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
    assert_bad_inputs_raise_config_errors("ctrgcn")
    with pytest.raises(ConfigError, match="one per temporal branch"):
        build_model("ctrgcn", 15, 2, {"channels": [2, 8]}, CHAIN)


def test_loss_falls_on_a_tiny_graph_task():
    torch.manual_seed(0)
    assert_learns_which_chain_end_moves(tiny(CHAIN, n_channels=2, n_classes=2))
