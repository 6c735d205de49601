"""Sequence and clip recognizers are two kinds of one `BaseRecognizer`: its `fit` / `predict_proba`
are final (a subclass cannot replace them), check options at fit (never in `__init__`, as
scikit-learn asks) and the input's medium before the kind's `_fit` runs; fitted state ends in `_`,
and `clone` works on both kinds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import clone

from actrec.errors import ConfigError, DataError
from actrec.recognizers import KINDS, BaseRecognizer, Recognizer, VideoRecognizer
from tests.helpers.waves import make_waves

FAST = {"num_features": 168, "max_dilations": 4}
CLIP = {"model_options": {"width": 4, "depth": 10}, "clip": {"size": 16, "frames": 4}, "epochs": 2}


def test_both_kinds_are_subclasses_of_the_one_door_and_registered_by_kind():
    assert issubclass(Recognizer, BaseRecognizer) and issubclass(VideoRecognizer, BaseRecognizer)
    assert {"sequence": Recognizer, "video": VideoRecognizer} == KINDS
    for kind in (Recognizer, VideoRecognizer):
        for name in ("fit", "predict_proba", "predict", "save"):
            assert getattr(kind, name) is getattr(BaseRecognizer, name), (kind, name)


def test_a_subclass_that_overrides_fit_or_predict_proba_is_refused():
    with pytest.raises(TypeError, match="defines fit, which BaseRecognizer keeps final"):

        class OwnFit(Recognizer):
            def fit(self, X: Any, y: Any = None) -> Any:  # type: ignore[override]
                return self

    with pytest.raises(TypeError, match="defines predict_proba"):

        class OwnProba(VideoRecognizer):
            def predict_proba(self, X: Any) -> Any:  # type: ignore[override]
                return None


def test_clone_works_on_a_clip_recognizer_as_on_a_sequence_one():
    clip = VideoRecognizer("tsn", seed=4, **CLIP)
    copy = clone(clip)
    assert copy is not clip and type(copy) is VideoRecognizer
    assert copy.get_params() == clip.get_params() and copy.get_params()["clip"] == CLIP["clip"]
    assert copy.set_params(epochs=3).epochs == 3 and clip.epochs == 2
    sequence = Recognizer("minirocket", model_options=FAST, seed=4)
    assert clone(sequence).get_params() == sequence.get_params()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Recognizer("gru", optimizer="sgd"), "unknown optimizer 'sgd'"),
        (lambda: VideoRecognizer("tsm", clip={"motion": "optical"}), "motion 'optical' is not one of"),
        (lambda: VideoRecognizer("tsn", label_smoothing=1.0), "label_smoothing must be in"),
    ],
)
def test_init_stores_the_arguments_only_and_fit_refuses_a_bad_option(make: Any, match: str):
    recognizer = make()  # no validation here: scikit-learn's rule
    assert set(vars(recognizer)) == set(recognizer.get_params())
    with pytest.raises(ConfigError, match=match):
        recognizer.fit(make_waves(n=12, steps=8).X)  # refused before the data is looked at


def test_the_door_refuses_input_of_another_medium_in_one_line():
    with pytest.raises(
        DataError, match=r"a video recognizer reads video \(ClipList\), not ndarray; read a clip folder"
    ):
        VideoRecognizer("tsn", **CLIP).fit(np.zeros((4, 8, 3), np.float32))
    with pytest.raises(ConfigError, match="this VideoRecognizer is not fitted"):
        VideoRecognizer("tsn", **CLIP).predict_proba(np.zeros((4, 8, 3), np.float32))


def test_fitted_state_lives_under_names_ending_in_an_underscore():
    data = make_waves(n=24, steps=16)
    recognizer = Recognizer("minirocket", model_options=FAST).fit(data.X, data.y)
    params = set(recognizer.get_params())
    state = set(vars(recognizer)) - params
    assert state and all(name.endswith("_") for name in state), sorted(state)
    assert recognizer.network is recognizer.network_ and recognizer.label_names == recognizer.label_names_


def test_config_is_made_when_first_read_and_again_after_set_params():
    recognizer = Recognizer("gru", epochs=3)
    assert recognizer.config.epochs == 3 and recognizer.config is recognizer.config_
    assert recognizer.set_params(epochs=5).config.epochs == 5
    clip = VideoRecognizer("tsn", **CLIP)
    assert clip.config.epochs == 2 and clip.set_params(epochs=4).config.epochs == 4
