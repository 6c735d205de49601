"""Decision rules fitted to a session with known segments beat the window-scaled defaults on
another session, and travel inside the model file to every Streamer."""

import numpy as np
import pytest

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer
from actrec.stream.calibrate import calibrate, replay, segment_scores, session_probabilities
from actrec.stream.decisions import DecisionRules
from actrec.stream.engine import Streamer
from tests.helpers.waves import sine_session

RATE, WINDOW, CLASSES = 20.0, 20, ["slow", "medium", "fast"]


def session(seed: int, n_segments: int = 14) -> tuple[np.ndarray, np.ndarray, list[tuple[str, float, float]]]:
    return sine_session(seed, n_segments, RATE, tuple(CLASSES))


def windows(values: np.ndarray, truth: list) -> SequenceDataset:
    X, y = [], []
    for label, start, end in truth:
        for s in range(int(start * RATE), int(end * RATE) - WINDOW + 1, 5):
            X.append(values[s : s + WINDOW])
            y.append(CLASSES.index(label))
    return SequenceDataset(
        X=np.stack(X),
        lengths=np.full(len(X), WINDOW),
        y=np.array(y),
        label_names=CLASSES,
        sample_rate_hz=RATE,
        feature_names=["a", "b"],
        source="train session",
    )


@pytest.fixture(scope="module")
def model():
    values, _, truth = session(0, n_segments=18)
    # a model that errs on some frames (no level kernels), so that rules have something to fix
    options = {"num_features": 840, "level_kernels": 0}
    return Recognizer("minirocket", model_options=options, seed=0).fit(windows(values, truth))


def test_segment_scores_match_by_label_and_overlap():
    truth = [("a", 0, 10), ("b", 10, 20)]
    assert segment_scores([("a", 1, 10), ("b", 10, 12)], truth)["f1"] == pytest.approx(0.5)
    assert segment_scores([("a", 0, 10), ("a", 10, 20)], truth)["precision"] == 0.5
    assert segment_scores([], truth)["f1"] == 0.0


def test_session_probabilities_are_the_streamers_and_missing_frames_stay_gaps(model):
    values, times, _ = session(3, n_segments=2)
    values[100:160] = np.nan  # 3 s without a sample
    streamer = Streamer(model, runtime="torch")
    streamed = [streamer.push(frame, time).probabilities for frame, time in zip(values, times)]
    probabilities = session_probabilities(model, values)
    assert np.isnan(probabilities[100:160]).all()
    for part in (slice(0, 100), slice(160, None)):
        np.testing.assert_allclose(probabilities[part], np.stack(streamed[part]), atol=1e-5)
    segments = replay(probabilities, times, DecisionRules.for_model(WINDOW, RATE), CLASSES, RATE)
    assert segments and not any(start < 100 / RATE and end > 160 / RATE for _, start, end in segments)


def test_fitted_rules_beat_the_defaults_on_another_session_and_are_saved(model, tmp_path):
    calibration_values, calibration_times, calibration_truth = session(1)
    report = calibrate(model, calibration_values, calibration_times, calibration_truth)
    assert report["after"]["f1"] >= report["before"]["f1"]

    values, times, truth = session(2)
    probabilities = session_probabilities(model, values)
    default = DecisionRules.for_model(WINDOW, RATE)
    fitted = DecisionRules(**model.decision_rules)
    default_f1 = segment_scores(replay(probabilities, times, default, CLASSES, RATE), truth)["f1"]
    fitted_f1 = segment_scores(replay(probabilities, times, fitted, CLASSES, RATE), truth)["f1"]
    assert fitted_f1 > default_f1, (fitted_f1, default_f1, model.decision_rules)

    reloaded = Recognizer.load(model.save(tmp_path / "model.actrec"))
    assert Streamer(reloaded).rules == fitted


def test_stream_calibrate_command_saves_rules_and_reports_segment_f1(model, tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from actrec.cli import app

    run = tmp_path / "run"
    run.mkdir()
    model.decision_rules = None
    model.save(run)
    values, times, truth = session(1)
    pd.DataFrame({"time": times, "a": values[:, 0], "b": values[:, 1]}).to_csv(tmp_path / "session.csv", index=False)
    pd.DataFrame(truth, columns=["label", "start", "end"]).to_csv(tmp_path / "segments.csv", index=False)
    result = CliRunner().invoke(
        app,
        [
            "stream",
            str(run),
            "--calibrate",
            str(tmp_path / "session.csv"),
            "--segments",
            str(tmp_path / "segments.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())["stream"]
    assert metrics["segment_f1_fitted_rules"] >= metrics["segment_f1_default_rules"]
    assert Recognizer.load(run).decision_rules == metrics["rules"]
    missing = CliRunner().invoke(app, ["stream", str(run), "--calibrate", str(tmp_path / "session.csv")])
    assert missing.exit_code == 2 and "--segments" in missing.output
