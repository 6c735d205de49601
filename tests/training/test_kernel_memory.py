"""Kernel fits in bounded memory: features computed a batch at a time, the logistic head's
features in memory or in a file give the same model, and the moments that standardise them
are the ones of all rows."""

import numpy as np
import pytest
import torch

from actrec.features.pipeline import Standardize
from actrec.models.rocket import LEVEL_EXAMPLES, N_KERNELS, RocketNet
from actrec.recognizers import Recognizer
from actrec.training import feature_store, kernels
from actrec.training.feature_store import FeatureStore, RunningMoments
from tests.helpers.waves import make_waves

SMALL = {"num_features": 420, "hydra_groups": 8}


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def test_a_fit_whose_features_go_to_a_file_equals_the_fit_that_holds_them(monkeypatch):
    monkeypatch.setattr(kernels, "DUAL_MAX_SAMPLES", 10)  # the large-set (logistic) head on a small set
    train, test = make_waves(n=120, seed=0), make_waves(n=60, seed=1)
    held = Recognizer("multirocket", model_options=SMALL, seed=0).fit(train)
    filed = Recognizer("multirocket", model_options=SMALL | {"memory_mb": 0}, seed=0).fit(train)
    assert held.network.fitted_summary["features_in_memory"] is True
    assert filed.network.fitted_summary["features_in_memory"] is False
    np.testing.assert_array_equal(filed.predict_proba(test), held.predict_proba(test))
    np.testing.assert_array_equal(filed.validation_proba_, held.validation_proba_)
    assert (held.predict(test) == np.asarray(held.label_names, dtype=object)[test.y]).mean() > 0.9


def test_features_are_computed_a_batch_at_a_time_and_never_held_whole(monkeypatch):
    monkeypatch.setattr(kernels, "DUAL_MAX_SAMPLES", 10)
    monkeypatch.setattr(feature_store, "BATCH", 8)
    seen, stores = [], []
    raw_features = RocketNet.raw_features

    def counting(self, x, lengths=None):
        seen.append(len(x))
        return raw_features(self, x, lengths)

    class Recorded(FeatureStore):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(RocketNet, "raw_features", counting)
    monkeypatch.setattr(kernels, "FeatureStore", Recorded)
    rows_read = []
    rows = feature_store.TransformedBatches.rows
    monkeypatch.setattr(
        feature_store.TransformedBatches, "rows", lambda self, index: rows_read.append(len(index)) or rows(self, index)
    )
    train = make_waves(n=100, seed=0)
    Recognizer("multirocket", model_options=SMALL | {"memory_mb": 0}, seed=0).fit(train)
    assert len(stores) == 2 and all(store.memory_bytes == 0 and not store.in_memory for store in stores)
    assert max(seen) <= 8 and sum(seen) >= len(train.y)  # every sample featurised, 8 at a time
    # the input too: batches of 8, or the examples a kernel bank draws its biases from (one per
    # MiniRocket kernel, and LEVEL_EXAMPLES for the level kernels)
    drawn = {N_KERNELS, LEVEL_EXAMPLES}
    assert all(size <= 8 or size in drawn for size in rows_read), sorted(set(rows_read))


def test_running_moments_over_batches_are_the_moments_of_all_rows():
    rows = np.random.default_rng(0).gamma(2.0, size=(103, 7)).astype(np.float32)
    rows[rows < 0.5] = 0.0
    moments = RunningMoments(7)
    for start in range(0, 103, 10):
        moments.add(rows[start : start + 10])
    np.testing.assert_allclose(moments.mean, rows.mean(0, dtype=np.float64), rtol=1e-12)
    np.testing.assert_allclose(moments.std, rows.std(0, dtype=np.float64), rtol=1e-10)
    np.testing.assert_array_equal(moments.zero_share, (rows == 0).mean(0))


def test_standardize_fitted_in_chunks_equals_the_whole_fit_with_gaps(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, size=(40, 9, 5)).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = np.nan  # keypoints the detector missed
    X[:, :, 4] = np.nan  # a feature never seen
    lengths = rng.integers(3, 10, size=40)
    whole = Standardize().fit(X, lengths)
    monkeypatch.setattr(Standardize, "FIT_CHUNK", 20)  # a few samples per chunk
    chunked = Standardize().fit(X, lengths)
    np.testing.assert_allclose(chunked.mean, whole.mean, rtol=1e-6)
    np.testing.assert_allclose(chunked.std, whole.std, rtol=1e-6)
    assert chunked.mean[4] == 0.0 and chunked.std[4] == 1.0


def test_a_shuffled_epoch_reads_every_row_once_and_the_same_minibatches_from_memory_or_a_file(monkeypatch):
    monkeypatch.setattr(feature_store, "SHUFFLE_BLOCK", 4)
    monkeypatch.setattr(feature_store, "SHUFFLE_BLOCKS", 3)  # groups of 12 rows: several groups and a ragged end
    train = make_waves(n=50, seed=0)
    network = Recognizer("minirocket", model_options={"num_features": 168}, seed=0).fit(train).network
    batches = feature_store.ArrayBatches(train.X, train.lengths)
    with FeatureStore(network, batches, 1 << 30) as held, FeatureStore(network, batches, 0) as filed:
        assert held.in_memory and not filed.in_memory
        epochs = [list(store.shuffled(torch.Generator().manual_seed(7), 5)) for store in (held, filed)]
        whole = np.concatenate(list(held.chunks()))
        for (index, rows), (index_filed, rows_filed) in zip(*epochs, strict=True):
            np.testing.assert_array_equal(index, index_filed)
            np.testing.assert_array_equal(rows, rows_filed)
            np.testing.assert_array_equal(rows, whole[index])
            assert len(index) <= 5
        seen = np.concatenate([index for index, _ in epochs[0]])
        assert sorted(seen) == list(range(50)) and list(seen) != list(range(50))
        other = np.concatenate([index for index, _ in held.shuffled(torch.Generator().manual_seed(8), 5)])
        assert list(other) != list(seen)
