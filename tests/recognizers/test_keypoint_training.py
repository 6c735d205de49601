"""GRU and ST-GCN learn the embedded skeleton dataset, with recordings never split across sets."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.data.segments import windows_from_segments
from actrec.data.splits import holdout_split
from actrec.data.synthetic import write_synthetic
from actrec.evaluation.metrics import compute_metrics
from actrec.recognizers import Recognizer


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory):
    folder = write_synthetic(tmp_path_factory.mktemp("synthetic"), n_recordings=14, seed=5, duration_s=40.0)
    return windows_from_segments(folder / "recordings", folder / "segments.csv", window=30, stride=15)


@pytest.mark.parametrize(
    "model,options",
    [
        ("gru", {"hidden_sizes": [48], "dense": []}),
        ("stgcn", {"channels": [16, 32], "temporal_kernel": 5}),
    ],
)
def test_keypoint_models_learn_well_above_chance(windows, model, options, tmp_path):
    keep, hold = holdout_split(windows, 0.25, seed=0)
    train, test = windows.subset(keep), windows.subset(hold)
    assert set(train.groups).isdisjoint(test.groups)
    recognizer = Recognizer(model, model_options=options, epochs=6, seed=0, lr=3e-3)
    recognizer.fit(train)
    metrics = compute_metrics(test.y, recognizer.predict_proba(test), recognizer.label_names)
    chance = 1 / windows.n_classes
    assert metrics["top1"] > chance + 0.35, metrics["top1"]
    # the saved model carries the skeleton and the fitted keypoint pipeline
    again = Recognizer.load(recognizer.save(tmp_path / "m.actrec"))
    assert np.array_equal(again.predict_proba(test), recognizer.predict_proba(test))
    # a bare array with the detector's gaps (NaN) predicts like the dataset: the model knows its skeleton
    assert np.isnan(test.X).any()
    np.testing.assert_allclose(again.predict_proba(test.X, test.lengths), again.predict_proba(test), atol=1e-6)


def test_mirror_augmentation_trains(windows):
    recognizer = Recognizer(
        "gru", model_options={"hidden_sizes": [16], "dense": []}, epochs=1, augment=["mirror", "rotate"], seed=0
    )
    recognizer.fit(windows.subset(np.arange(200)))
    assert len(recognizer.history) == 1
