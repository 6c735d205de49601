"""train_run scores a test set whose label order differs from training by label name, and fits
streaming decision rules on the recordings its validation windows were cut from."""

import json

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer, TrainConfig
from actrec.runs.sequences import train_run
from actrec.stream.calibrate import pooled_scores, session_probabilities
from actrec.stream.decisions import DecisionRules
from actrec.stream.engine import Streamer
from tests.helpers.waves import make_waves, sine_session

RATE, WINDOW, STRIDE, CLASSES = 20.0, 20, 5, ("slow", "medium", "fast")


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
    train_run(
        data,
        tmp_path / "run",
        TrainConfig(model="minirocket", model_options={"num_features": 840}, seed=1),
        test_fraction=0.25,
    )
    assert calls == [0.25, 0.2]  # test, then validation: the recognizer does not cut again


def recorded_windows(n_sessions: int) -> SequenceDataset:
    """Windows cut every STRIDE frames from generated sessions, labelled by most of their frames,
    grouped by session, with where each starts (what `dataset build` gives)."""
    X, y, groups, starts = [], [], [], []
    for seed in range(n_sessions):
        values, times, truth = sine_session(100 + seed, 12, RATE, CLASSES)
        frame_labels = np.zeros(len(values), dtype=np.int64)
        for label, start, end in truth:
            frame_labels[(times >= start - 1e-9) & (times < end - 1e-9)] = CLASSES.index(label)
        for start in range(0, len(values) - WINDOW + 1, STRIDE):
            X.append(values[start : start + WINDOW])
            y.append(np.bincount(frame_labels[start : start + WINDOW], minlength=len(CLASSES)).argmax())
            groups.append(f"session{seed}")
            starts.append(start)
    return SequenceDataset(
        X=np.stack(X),
        lengths=np.full(len(X), WINDOW),
        y=np.array(y),
        label_names=list(CLASSES),
        groups=np.array(groups),
        sample_rate_hz=RATE,
        meta={"start_frame": np.array(starts)},
        source="recorded windows",
    )


def test_rules_fitted_on_the_validation_recordings_beat_the_defaults_on_a_new_session(tmp_path):
    # a model that still errs on some frames (no level kernels): with level kernels the default
    # rules already find every segment of these sessions, and there is nothing left to fit
    config = TrainConfig(model="minirocket", model_options={"num_features": 840, "level_kernels": 0}, seed=0)
    result = train_run(recorded_windows(10), tmp_path / "run", config)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["segments"]
    assert metrics["min_iou"] == 0.5 and metrics["val"]["sessions"] >= 1 and metrics["test"]["sessions"] >= 1
    assert metrics["val"]["segment_f1"] > metrics["val"]["segment_f1_default_rules"]
    assert any(note.startswith("decision rules fitted on") for note in result.notes)

    model = Recognizer.load(tmp_path / "run")
    assert model.decision_rules == metrics["rules"] and Streamer(model).rules == DecisionRules(**metrics["rules"])
    # sessions no split held, scored together (one alone is a handful of segments)
    sessions = [
        (session_probabilities(model, values), times, truth)
        for values, times, truth in (sine_session(seed, 14, RATE, CLASSES) for seed in range(7, 11))
    ]
    scores = {
        name: pooled_scores(sessions, rules, list(CLASSES), RATE)["f1"]
        for name, rules in (
            ("fitted", DecisionRules(**model.decision_rules)),
            ("default", DecisionRules.for_model(WINDOW, RATE)),
        )
    }
    assert scores["fitted"] > scores["default"], scores


def test_windows_without_order_leave_the_default_rules(tmp_path):
    train_run(
        make_waves(n=80, seed=4), tmp_path / "run", TrainConfig(model="minirocket", model_options={"num_features": 840})
    )
    assert "segments" not in json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert Recognizer.load(tmp_path / "run").decision_rules is None


def test_windows_that_do_not_rebuild_recordings_leave_a_note_and_the_default_rules(tmp_path):
    data = recorded_windows(6)
    data.meta = {"start_frame": np.zeros(data.n_samples, dtype=np.int64)}  # every window claims frame 0
    result = train_run(data, tmp_path / "run", TrainConfig(model="minirocket", model_options={"num_features": 840}))
    assert any(note.startswith("decision rules not fitted: recorded windows: window") for note in result.notes), (
        result.notes
    )
    assert Recognizer.load(tmp_path / "run").decision_rules is None
