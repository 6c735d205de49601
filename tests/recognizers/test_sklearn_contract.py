"""`Recognizer` keeps scikit-learn's estimator contract: explicit keyword arguments stored as
given, `get_params`/`set_params`, fitted state ending in `_`, so `clone` and `cross_validate` work."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.utils.validation import check_is_fitted

from actrec.recognizers import Recognizer, TrainConfig
from tests.helpers.waves import make_waves

FAST = {"num_features": 168, "max_dilations": 4}  # the smallest MiniRocket: fits in a fraction of a second


def test_arguments_are_the_train_config_fields_with_its_defaults():
    signature = inspect.signature(Recognizer.__init__).parameters
    assert list(signature)[1:] == [f.name for f in dataclasses.fields(TrainConfig)]
    defaults = TrainConfig()
    for name, parameter in list(signature.items())[1:]:
        assert parameter.default in (getattr(defaults, name), None), name
    # one default model for Python and the CLI
    assert Recognizer().model == TrainConfig().model == "auto"


def test_get_params_set_params_and_clone():
    options = {"num_features": 168}
    recognizer = Recognizer("minirocket", model_options=options, seed=3)
    params = recognizer.get_params()
    assert params["model"] == "minirocket" and params["model_options"] is options and params["seed"] == 3
    assert set(params) == {f.name for f in dataclasses.fields(TrainConfig)}
    copy = clone(recognizer)
    assert copy.get_params()["model_options"] == options and copy is not recognizer
    assert copy.set_params(seed=5, epochs=2) is copy and copy.seed == 5 and copy.epochs == 2
    assert is_classifier(recognizer)


def test_fitted_attributes_end_in_an_underscore_and_classes_are_what_fit_was_given():
    data = make_waves(n=30, steps=16)
    y = np.array([10, 20, 30])[data.y]
    recognizer = Recognizer("minirocket", model_options=FAST)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(recognizer)
    recognizer.fit(data.X, y)
    check_is_fitted(recognizer)
    np.testing.assert_array_equal(recognizer.classes_, [10, 20, 30])
    assert set(recognizer.predict(data.X)) <= {10, 20, 30}
    assert recognizer.predict_proba(data.X).shape == (30, 3)
    assert recognizer.network_ is recognizer.network and recognizer.window_length_ == 16
    named = Recognizer("minirocket", model_options=FAST).fit(data.X, data.labels_as_names())
    assert list(named.classes_) == ["class0", "class1", "class2"]


def test_cross_validate_and_grid_search_run_on_it():
    data = make_waves(n=36, steps=16)
    scores = cross_validate(Recognizer("minirocket", model_options=FAST), data.X, data.y, cv=3)
    assert scores["test_score"].shape == (3,) and scores["test_score"].mean() > 0.8
    search = GridSearchCV(Recognizer("minirocket", model_options=FAST), {"last_steps": [8, 16]}, cv=2).fit(
        data.X, data.y
    )
    assert search.best_params_["last_steps"] in (8, 16)
