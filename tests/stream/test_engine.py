"""Streaming probabilities equal batch `predict_proba` on the same sliding windows, for every
runtime; missing frames never crash or skip a decision."""

import numpy as np
import pytest
import torch

from actrec.data.dataset import SequenceDataset
from actrec.errors import ConfigError, DataError
from actrec.recognizers import Recognizer
from actrec.stream.decisions import DecisionRules
from actrec.stream.engine import Streamer
from actrec.stream.windows import trailing_windows

torch.set_num_threads(1)
WINDOW, N_FEATURES = 12, 5
MODELS = {
    "gru": {"hidden_sizes": [16, 8], "dense": [8]},
    "lstm": {"hidden_sizes": [8, 8], "dense": [], "pooling": "mean"},
    "inception": {"filters": 4, "depth": 3, "kernel_sizes": [3, 5, 7], "bottleneck": 4},
    "gru_attention": {"hidden_sizes": [8], "dense": [], "pooling": "attention"},
    "minirocket": {"num_features": 840},
    "multirocket": {"num_features": 420, "hydra_groups": 8},
}


def fitted(model: str, X: np.ndarray, y) -> Recognizer:
    name = model.split("_")[0]
    return Recognizer(model=name, model_options=MODELS[model], epochs=1, seed=0, patience=1).fit(X, y)


@pytest.fixture(scope="module")
def sensor_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, WINDOW, N_FEATURES)).astype(np.float32)
    X[::2] += 1.0
    return X, np.array(["a", "b"] * 20), rng.normal(size=(45, N_FEATURES)).astype(np.float32)


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("runtime", ["numpy", "torch", "onnx"])
def test_streaming_equals_batch_predict_on_every_window(sensor_data, model, runtime):
    X, y, sequence = sensor_data
    recognizer = fitted(model, X, y)
    windows, lengths = trailing_windows(sequence, recognizer.window_length)
    expected = recognizer.predict_proba(windows, lengths=lengths)
    streamer = Streamer(recognizer, runtime=runtime)
    got = np.stack([streamer.push(frame).probabilities for frame in sequence])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    per_frame = model in ("gru", "lstm") or model.endswith("rocket")  # kernel steps also run as torch/ONNX graphs
    assert streamer.mode == ("incremental" if per_frame else "window")


@pytest.mark.parametrize("model, runtime", [("gru", "numpy"), ("gru", "onnx"), ("inception", "auto")])
def test_keypoint_pipeline_with_velocity_context_matches_batch(model, runtime):
    rng = np.random.default_rng(1)
    base = rng.normal(size=(21, 3)).astype(np.float32)
    X = base + 0.05 * rng.normal(size=(30, 10, 21, 3)).astype(np.float32)
    dataset = SequenceDataset(
        X=X, lengths=np.full(30, 10), y=np.arange(30) % 2, label_names=["a", "b"], schema="mediapipe_hand"
    )
    recognizer = fitted(model, dataset, None)
    assert recognizer.pipeline.context_frames >= 1
    sequence = base + 0.05 * rng.normal(size=(25, 21, 3)).astype(np.float32)
    windows, lengths = trailing_windows(sequence, recognizer.window_length)
    expected = recognizer.predict_proba(SequenceDataset(X=windows, lengths=lengths, schema="mediapipe_hand"))
    streamer = Streamer(recognizer, runtime=runtime)
    got = np.stack([streamer.push(frame).probabilities for frame in sequence])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_missing_frames_hold_then_give_no_one_and_restart_the_window(sensor_data):
    X, y, sequence = sensor_data
    recognizer = fitted("gru", X, y)
    rules = DecisionRules.for_model(recognizer.window_length, 10.0, no_one_after_s=0.5)
    streamer = Streamer(recognizer, rules=rules)
    times = np.arange(40) / 10.0
    frames = (
        [sequence[i] for i in range(10)]
        + [None] * 3
        + [np.full(N_FEATURES, np.nan)] * 5
        + [sequence[i] for i in range(10, 32)]
    )
    decisions = [streamer.push(frame, time) for frame, time in zip(frames, times)]
    assert [d.frame for d in decisions] == list(range(40))
    assert all(d.missing and d.probabilities is None for d in decisions[10:18])
    assert decisions[17].label == "no one"
    # After `no one` the window restarts: frame 18 is predicted as a one-frame window.
    expected = recognizer.predict_proba(sequence[10:11][None], lengths=[1])[0]
    np.testing.assert_allclose(decisions[18].probabilities, expected, atol=1e-5)
    assert decisions[18].label != "no one"


def test_partly_missing_sensor_frame_still_gives_a_decision(sensor_data):
    X, y, sequence = sensor_data
    streamer = Streamer(fitted("gru", X, y))
    frame = sequence[0].copy()
    frame[1] = np.nan
    decision = streamer.push(frame)
    assert np.isfinite(decision.probabilities).all()


def test_wrong_frame_shape_and_unknown_runtime_fail_with_one_line(sensor_data):
    X, y, _ = sensor_data
    recognizer = fitted("gru", X, y)
    streamer = Streamer(recognizer)
    with pytest.raises(DataError, match="frame 0 has shape"):
        streamer.push(np.zeros(N_FEATURES + 1, np.float32))
    with pytest.raises(ConfigError, match="runtime"):
        Streamer(recognizer, runtime="tensorrt")


def test_reset_starts_a_new_stream(sensor_data):
    X, y, sequence = sensor_data
    streamer = Streamer(fitted("gru", X, y))
    first = [streamer.push(frame).probabilities for frame in sequence[:15]]
    streamer.reset()
    again = [streamer.push(frame).probabilities for frame in sequence[:15]]
    np.testing.assert_allclose(np.stack(first), np.stack(again), atol=1e-6)
    assert streamer.frame_index == 15
