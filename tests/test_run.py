"""train_run scores a test set whose label order differs from training by label name."""

import numpy as np

from actrec.recognizer import Recognizer, TrainConfig
from actrec.run import train_run
from tests.waves import make_waves


def test_test_set_in_another_label_order_is_scored_by_name(tmp_path):
    test = make_waves(n=30, seed=1)
    reordered = make_waves(n=30, seed=1)
    reordered.label_names = list(reversed(test.label_names))
    reordered.y = 2 - test.y  # the same classes, indexed the other way round
    config = TrainConfig(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=2)
    result = train_run(make_waves(n=60), tmp_path / "run", config, test=reordered)
    proba = Recognizer.load(tmp_path / "run").predict_proba(test)
    assert result.test["top1"] == float(np.mean(proba.argmax(1) == test.y))
    assert reordered.label_names == ["class2", "class1", "class0"]  # the caller's dataset is left as it was


def test_a_run_cuts_its_splits_once_and_passes_validation_down(tmp_path, monkeypatch):
    import actrec.data.splits as splits

    calls = []
    original = splits.holdout_split
    monkeypatch.setattr(splits, "holdout_split", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    data = make_waves(n=80, seed=4)
    train_run(data, tmp_path / "run", TrainConfig(model="minirocket", model_options={"num_features": 840}, seed=1), test_fraction=0.25)
    assert calls == [0.25, 0.2]  # test, then validation: the recognizer does not cut again
