"""A kernel fit inside `actrec.cluster.on_ray`: the kernel transform runs as Ray tasks on a
private head (tests/helpers/ray_head.py), the head on the driver, and the model is the one a
local fit gives, for the ridge head and for the logistic head with its features in a file."""

import numpy as np
import pytest
import torch

from actrec.cluster import on_ray
from actrec.recognizers import Recognizer
from actrec.training import feature_store, kernels
from tests.helpers.ray_head import skip_without_ray
from tests.helpers.waves import make_waves

skip_without_ray()

SMALL = {"num_features": 420}


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize("head", ["ridge", "logistic"])
def test_a_fit_with_its_kernel_features_on_ray_is_the_local_fit(head, ray_head, monkeypatch):
    options = SMALL
    if head == "logistic":
        monkeypatch.setattr(kernels, "DUAL_MAX_SAMPLES", 10)  # the large-set head on a small set
        options = SMALL | {"memory_mb": 0}
    monkeypatch.setattr(feature_store, "RAY_TASK_BYTES", 1)  # one BATCH a task: many tasks, in order
    monkeypatch.setattr(feature_store, "BATCH", 16)
    train, test = make_waves(n=150, seed=0, ragged=True), make_waves(n=60, seed=1)
    here = Recognizer("minirocket", model_options=options, seed=0).fit(train)
    computed_here = []
    raw = feature_store._raw
    monkeypatch.setattr(feature_store, "_raw", lambda *args: computed_here.append(1) or raw(*args))
    with on_ray(ray_head):
        remote = Recognizer("minirocket", model_options=options, seed=0).fit(train)
    assert not computed_here  # every kernel feature of the fit came from a task
    assert remote.network.fitted_summary["head"] == here.network.fitted_summary["head"] == head
    np.testing.assert_array_equal(remote.validation_proba_, here.validation_proba_)
    np.testing.assert_array_equal(remote.predict_proba(test), here.predict_proba(test))
