"""Fit strategies (`actrec.training.strategies`): chosen from capabilities, each records the
history it has, and a seeded fit gives the same probabilities, to the bit, as the recognizer did
before the strategies were parts of their own (`data/seeded_fits.npz` was saved by that code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.models import model_capabilities
from actrec.recognizer import Recognizer
from actrec.training.averaging import inverse_loss_average
from actrec.training.strategies import choose_strategy
from tests.helpers.keypoint_model import keypoint_windows
from tests.helpers.waves import make_waves

SAVED = np.load(Path(__file__).parent / "data" / "seeded_fits.npz")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the saved probabilities were computed on one thread
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def waves():
    return make_waves(n=60, steps=24, ragged=True)


@pytest.mark.parametrize(
    "model,streams,strategy",
    [
        ("auto", [], "ensemble"),
        ("minirocket", [], "closed_form"),
        ("gru", [], "gradient"),
        ("stgcn", ["joint", "bone"], "skeleton_streams"),
        ("stgcn", ["joint"], "gradient"),
    ],
)
def test_the_strategy_is_chosen_from_capabilities(model, streams, strategy):
    assert choose_strategy(model_capabilities(model, {}), streams).name == strategy


def test_gradient_training_records_epochs_and_fits_what_it_did_before(waves):
    recognizer = Recognizer("gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=3, seed=0).fit(waves)
    assert np.array_equal(recognizer.predict_proba(waves), SAVED["gru"])
    assert list(recognizer.history["epoch"]) == [1, 2, 3] and "val_loss" in recognizer.history


def test_skeleton_streams_record_each_members_epochs_and_fit_what_they_did_before():
    windows = keypoint_windows(n=24)
    recognizer = Recognizer("stgcn", model_options={"channels": [8]}, streams=["joint", "bone"], epochs=2, seed=0).fit(
        windows
    )
    assert np.array_equal(recognizer.predict_proba(windows), SAVED["streams"])
    assert np.array_equal(recognizer.validation_proba_, SAVED["streams_val"])
    assert list(recognizer.history["member"].unique()) == ["joint", "bone"]
    assert float(recognizer.network.weights.sum()) == pytest.approx(1.0)


def test_the_default_ensemble_is_its_kernel_member_to_the_bit_and_records_members(waves):
    ensemble = Recognizer(seed=0).fit(waves)
    alone = Recognizer("minirocket", seed=0).fit(waves)
    member = ensemble.network.members[0].state_dict()
    assert member.keys() == alone.network.state_dict().keys()
    assert all(torch.equal(member[name], value) for name, value in alone.network.state_dict().items())
    assert np.array_equal(ensemble.validation_proba_, alone.validation_proba_)
    (row,) = ensemble.history.to_dict("records")
    assert row["member"] == "minirocket" and row["weight"] == 1.0
    assert row["val_loss"] == alone.history.loc[alone.history["chosen"], "val_loss"].iloc[0]


def test_a_closed_form_fit_records_its_chosen_penalty(waves):
    recognizer = Recognizer("minirocket", model_options={"num_features": 168, "max_dilations": 4}, seed=0).fit(waves)
    chosen = recognizer.history[recognizer.history["chosen"]]
    assert len(chosen) == 1 and chosen["penalty"].iloc[0] == recognizer.network.fitted_summary["alpha"]
    assert {"val_loss", "val_acc", "seconds", "temperature"} <= set(recognizer.history.columns)


def test_members_weigh_inversely_to_their_validation_log_loss():
    y = np.array([0, 1, 1, 0])
    sure, unsure = np.eye(2)[y] * 0.8 + 0.1, np.full((4, 2), 0.5)
    averaged = inverse_loss_average([sure, unsure], y, 2)
    ratio = averaged.weights[0] / averaged.weights[1]
    assert ratio == pytest.approx(averaged.losses[1] / averaged.losses[0]) and averaged.weights.sum() == pytest.approx(
        1
    )
    assert np.allclose(averaged.proba, averaged.weights[0] * sure + averaged.weights[1] * unsure)
    equal = inverse_loss_average([sure[:0], unsure[:0]], y[:0], 2)
    assert list(equal.weights) == [0.5, 0.5] and equal.proba is None and equal.losses == []
