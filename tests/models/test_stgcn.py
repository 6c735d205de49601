"""ST-GCN: shapes, padding invariance, the graph it builds from a schema, and that it learns."""

import numpy as np
import pytest
import torch

from actrec.errors import ConfigError
from actrec.models.registry import build_model
from actrec.models.stgcn import graph_partitions, hop_distance
from actrec.skeletons import get_schema
from tests.helpers.graph_models import (
    CHAIN,
    assert_bad_inputs_raise_config_errors,
    assert_learns_which_chain_end_moves,
    assert_padding_is_ignored,
)

torch.set_num_threads(1)


def tiny(schema, n_channels: int = 3, n_classes: int = 4, **options):
    options = {"channels": [8, 8, 16], "temporal_kernel": 3, "dropout": 0.0, **options}
    return build_model("stgcn", len(schema.joints) * n_channels, n_classes, options, schema)


def test_logits_have_one_row_per_sample_and_one_column_per_class():
    hand = get_schema("mediapipe_hand")
    model = tiny(hand).eval()
    logits = model(torch.randn(5, 16, 21 * 3), torch.tensor([16, 3, 9, 1, 16]))
    assert logits.shape == (5, 4)
    assert torch.isfinite(logits).all()


def test_lengths_none_means_every_step_is_valid():
    model = tiny(CHAIN).eval()
    x = torch.randn(2, 10, 15)
    assert torch.allclose(model(x, None), model(x, torch.tensor([10, 10])))


@pytest.mark.parametrize("partition", ["spatial", "uniform"])
def test_appending_padding_beyond_length_does_not_change_logits(partition):
    torch.manual_seed(0)
    assert_padding_is_ignored(tiny(get_schema("mediapipe_hand"), partition=partition).eval(), 63)


def test_partitions_sum_to_a_symmetric_normalised_adjacency_with_self_loops():
    hand = get_schema("mediapipe_hand")
    parts = graph_partitions(hand, "spatial")
    assert parts.shape == (3, 21, 21)
    total = parts.sum(axis=0)
    assert np.allclose(total, total.T)
    # D^-1/2 (A + I) D^-1/2 has spectral radius exactly 1
    assert np.isclose(np.abs(np.linalg.eigvalsh(total)).max(), 1.0, atol=1e-5)
    adjacency = hand.adjacency() + np.eye(21)
    assert np.array_equal(total > 0, adjacency > 0)
    degree = adjacency.sum(axis=1)
    wrist, thumb_cmc = hand.index("wrist"), hand.index("thumb_cmc")
    assert np.isclose(total[wrist, thumb_cmc], 1 / np.sqrt(degree[wrist] * degree[thumb_cmc]))


def test_spatial_partitions_split_neighbours_by_distance_to_the_root():
    assert hop_distance(5, CHAIN.bones, 2).tolist() == [2, 1, 0, 1, 2]
    self_part, nearer, farther = graph_partitions(CHAIN, "spatial")
    assert np.count_nonzero(self_part - np.diag(np.diag(self_part))) == 0
    assert nearer[1, 2] > 0 and nearer[0, 1] > 0 and nearer[2, 1] == 0
    assert farther[2, 1] > 0 and farther[2, 3] > 0 and farther[1, 2] == 0
    assert np.allclose(nearer, farther.T)
    assert graph_partitions(CHAIN, "uniform").shape == (1, 5, 5)


def test_bad_inputs_raise_config_errors():
    assert_bad_inputs_raise_config_errors("stgcn")
    with pytest.raises(ConfigError, match="partition"):
        build_model("stgcn", 15, 2, {"partition": "distance"}, CHAIN)


def test_loss_falls_on_a_tiny_graph_task():
    torch.manual_seed(0)
    assert_learns_which_chain_end_moves(tiny(CHAIN, n_channels=2, n_classes=2))
