"""A fit on far from balanced classes says so, and how to weigh a rare class up."""

import numpy as np

from actrec.data.labels import imbalance_notes
from actrec.recognizers import Recognizer


def test_imbalance_notes_name_the_commonest_and_rarest_class_only_past_the_ratio():
    names = ["walk", "sit", "fall"]
    (note,) = imbalance_notes(np.array([0] * 50 + [1] * 20 + [2] * 5), names)
    assert "50 training samples of 'walk' against 5 of 'fall'" in note and "--class-weight balanced" in note
    assert imbalance_notes(np.array([0] * 20 + [1] * 10 + [2] * 5), names) == []  # 4x: no note
    assert imbalance_notes(np.array([0] * 30), names) == []  # one class present: nothing to compare


def test_a_fit_on_imbalanced_classes_notes_it_unless_weights_or_sampling_balance_them():
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 6)
    X = (rng.normal(size=(66, 20, 2)) + y[:, None, None]).astype(np.float32)
    options = {"model_options": {"num_features": 168}, "seed": 0}
    assert any("imbalanced" in note for note in Recognizer("minirocket", **options).fit(X, y).notes)
    weighted = Recognizer("minirocket", class_weight="balanced", **options).fit(X, y)
    assert not any("imbalanced" in note for note in weighted.notes)
