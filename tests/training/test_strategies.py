"""Fit strategies (`actrec.training.strategies`): chosen from capabilities, each records the
history it has, and each fits what it fitted before or what its parts fit run directly.

Two references, so an intended change to one fit does not read as a broken strategy:
- the kernel strategies (the `auto` ensemble, the closed form) are compared with the same fit
  run directly (the ensemble with its member fitted alone, the closed form with
  `training.kernels.fit_kernel_model` called on the same pipeline and network), never with saved
  numbers: a change to the kernel fit changes both sides alike;
- gradient training and skeleton modalities are compared with `data/seeded_fits.npz` (saved by the
  recognizer before the strategies were parts of their own, one thread), and the modalities also with
  their members fitted alone. After an intended change to gradient training (the loop, the GRU or
  ST-GCN, the keypoint features), regenerate the file from the current code and commit it:

      PYTHONPATH=. python -m tests.training.test_strategies --regenerate
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from actrec.data.dataset import SequenceDataset
from actrec.evaluation.report import history_kind
from actrec.models import model_capabilities
from actrec.recognizers import Recognizer
from actrec.training.averaging import inverse_loss_average
from actrec.training.strategies import choose_strategy, fit_task
from actrec.training.strategies.closed_form import penalty_history
from actrec.training.strategies.ensemble import member_history
from tests.helpers.keypoint_model import keypoint_windows
from tests.helpers.waves import make_waves

SAVED_FITS = Path(__file__).parent / "data" / "seeded_fits.npz"
GRU = {"model": "gru", "model_options": {"hidden_sizes": [8], "dense": []}, "epochs": 3, "seed": 0}
MODALITIES = {"model": "stgcn", "model_options": {"channels": [8]}, "epochs": 2, "seed": 0}
KERNEL = {"model": "minirocket", "model_options": {"num_features": 168, "max_dilations": 4}, "seed": 0}


def waves_set() -> SequenceDataset:
    return make_waves(n=60, steps=24, ragged=True)


def fit_gru(waves: SequenceDataset) -> Recognizer:
    return Recognizer(**GRU).fit(waves)


def fit_modalities(windows: SequenceDataset) -> Recognizer:
    return Recognizer(**MODALITIES, modalities=["joint", "bone"]).fit(windows)


def regenerate_saved_fits(path: Path = SAVED_FITS) -> None:
    """Rewrite `data/seeded_fits.npz` from the current code, on one thread as the tests read it."""
    torch.set_num_threads(1)
    windows = keypoint_windows(n=24)
    fused = fit_modalities(windows)
    np.savez(
        path,
        gru=fit_gru(waves_set()).predict_proba(waves_set()),
        streams=fused.predict_proba(windows),  # the keys' names from before the modalities were renamed
        streams_val=fused.validation_proba_,
    )


@pytest.fixture(scope="module")
def saved() -> dict[str, np.ndarray]:
    return dict(np.load(SAVED_FITS))


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the saved probabilities were computed on one thread
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def waves():
    return waves_set()


@pytest.mark.parametrize(
    "model,modalities,strategy",
    [
        ("auto", [], "ensemble"),
        ("minirocket", [], "closed_form"),
        ("gru", [], "gradient"),
        ("stgcn", ["joint", "bone"], "skeleton_modalities"),
        ("stgcn", ["joint"], "gradient"),
    ],
)
def test_the_strategy_is_chosen_from_capabilities(model, modalities, strategy):
    assert choose_strategy(model_capabilities(model, {}), modalities).name == strategy


def test_gradient_training_records_epochs_and_fits_what_it_did_before(waves, saved):
    recognizer = fit_gru(waves)
    assert np.array_equal(recognizer.predict_proba(waves), saved["gru"])
    assert list(recognizer.history["epoch"]) == [1, 2, 3] and "val_loss" in recognizer.history


def test_skeleton_modalities_are_their_members_fitted_alone_and_fit_what_they_did_before(saved):
    windows = keypoint_windows(n=24)
    recognizer = fit_modalities(windows)
    assert np.array_equal(recognizer.predict_proba(windows), saved["streams"])
    assert np.array_equal(recognizer.validation_proba_, saved["streams_val"])
    assert list(recognizer.history["member"].unique()) == ["joint", "bone"]
    # the reference that moves with an intended change: each modality fitted alone on the same split
    task = fit_task(windows, None, recognizer.config)
    members = [
        Recognizer(**MODALITIES, modalities=[modality]).fit(task.train, validation=task.validation)
        for modality in ("joint", "bone")
    ]
    averaged = inverse_loss_average(
        [member.predict_proba(task.validation) for member in members], task.validation.labels, 2
    )
    assert np.allclose(recognizer.network.weights.numpy(), averaged.weights, atol=1e-6)
    alone = sum(weight * member.predict_proba(windows) for weight, member in zip(averaged.weights, members))
    assert np.allclose(recognizer.predict_proba(windows), alone, atol=1e-5)


def test_the_default_ensemble_is_its_kernel_member_to_the_bit_and_records_its_history(waves):
    ensemble = Recognizer(seed=0).fit(waves)
    alone = Recognizer("minirocket", seed=0).fit(waves)
    member = ensemble.network.members[0].state_dict()
    assert member.keys() == alone.network.state_dict().keys()
    assert all(torch.equal(member[name], value) for name, value in alone.network.state_dict().items())
    assert np.array_equal(ensemble.validation_proba_, alone.validation_proba_)
    # the member's own history (its penalty search), named and weighted
    history = ensemble.history
    assert set(history["member"]) == {"minirocket"} and set(history["weight"]) == {1.0}
    kept = history[history["chosen"].eq(True)]
    assert len(kept) == 1 and kept["val_loss"].iloc[0] == alone.history.loc[alone.history["chosen"], "val_loss"].iloc[0]
    assert list(history["penalty"]) == list(alone.history["penalty"])


def test_the_closed_form_strategy_is_the_kernel_fit_run_directly(waves):
    """The strategy adds nothing to `fit_kernel_model` but the pipeline it fits and the history."""
    import lightning as L

    from actrec.training.kernels import fit_kernel_model

    train, validation = waves.subset(np.arange(0, 48)), waves.subset(np.arange(48, 60))
    recognizer = Recognizer(**KERNEL).fit(train, validation=validation)
    direct = Recognizer(**KERNEL)
    direct.label_names, direct.window_length = recognizer.label_names, recognizer.window_length
    direct.pipeline, direct.n_features = recognizer.pipeline, recognizer.n_features
    direct.config.model_options = dict(KERNEL["model_options"])
    L.seed_everything(0, workers=True, verbose=False)
    network = direct.build_network()
    val_proba = fit_kernel_model(
        network,
        direct.batches(train),
        train.labels,
        direct.batches(validation),
        validation.labels,
        3,
        None,
        0,
        groups=train.groups,
    )
    assert np.array_equal(recognizer.validation_proba_, val_proba)
    fitted = recognizer.network.state_dict()
    assert all(torch.equal(fitted[name], value) for name, value in network.state_dict().items())


def test_a_closed_form_fit_records_its_chosen_penalty(waves):
    recognizer = Recognizer(**KERNEL).fit(waves)
    chosen = recognizer.history[recognizer.history["chosen"]]
    assert len(chosen) == 1 and chosen["penalty"].iloc[0] == recognizer.network.fitted_summary["alpha"]
    assert {"val_loss", "val_acc", "seconds", "temperature"} <= set(recognizer.history.columns)


def test_a_penalty_search_is_a_row_per_penalty_and_a_one_member_ensemble_draws_it():
    summary = {"head": "ridge", "alpha": np.float64(10.0), "temperature": 1.5}
    search = [(0.1, 0.9), (1.0, 0.5), (10.0, 0.4), (100.0, 0.7)]
    history = penalty_history(summary | {"penalty_search": search}, {"val_loss": 0.3, "val_acc": 0.9}, 2.0)
    assert list(history["penalty"]) == [0.1, 1.0, 10.0, 100.0] and list(history["chosen"]) == [
        False,
        False,
        True,
        False,
    ]
    assert history.loc[2, "val_loss"] == 0.3 and history.loc[:1, "val_loss"].isna().all()
    assert history_kind(history) == "penalties"
    # without a search: the chosen penalty alone, nothing to draw
    alone = penalty_history(summary, {"val_loss": 0.3}, 2.0)
    assert len(alone) == 1 and alone["chosen"].all() and history_kind(alone) is None

    class Member:
        config = Recognizer("minirocket").config

    Member.history = history.drop(columns=["val_loss", "val_acc"])
    one = member_history(Member(), 1.0, {"val_loss": 0.25, "val_acc": 0.8})
    assert history_kind(one) == "penalties" and one.loc[one["chosen"].eq(True), "val_loss"].tolist() == [0.25]
    two = pd.concat([one, one.assign(member="inception", weight=0.4)], ignore_index=True)
    assert history_kind(two) == "members"


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


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit(f"usage: python -m tests.training.test_strategies --regenerate  (rewrites {SAVED_FITS.name})")
    regenerate_saved_fits()
    print(f"wrote {SAVED_FITS}")
