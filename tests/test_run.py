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
