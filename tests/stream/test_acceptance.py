"""End to end: a model trained on windows of some recorded sensor sessions, streamed over a
held-out session (CSV replayed through `stream_source`), gives events whose segments match the
true activity segments."""

import numpy as np
import pandas as pd
import pytest
import torch

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer
from actrec.stream.events import event_segments, read_events
from actrec.stream.live import stream_source

torch.set_num_threads(1)
RATE_HZ, WINDOW, STRIDE = 20.0, 40, 8
CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
# activity -> (frequency Hz, amplitude per channel): distinct rhythms and axes, like a wrist IMU
ACTIVITIES = {
    "rest": (0.0, np.zeros(6)),
    "walk": (1.8, np.array([1.0, 0.2, 0.8, 0.3, 0.6, 0.1])),
    "run": (3.2, np.array([2.5, 0.5, 2.0, 0.8, 1.5, 0.3])),
    "wave": (1.0, np.array([0.2, 1.2, 0.1, 1.5, 0.1, 0.8])),
}


def session(rng: np.random.Generator, n_segments: int = 6) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """`[T, 6]` signal and its true `(label, start_s, end_s)` segments, activities back to back."""
    names = list(ACTIVITIES)
    labels = [names[rng.integers(len(names))]]
    while len(labels) < n_segments:
        choice = names[rng.integers(len(names))]
        if choice != labels[-1]:
            labels.append(choice)
    parts, segments, start = [], [], 0.0
    for label in labels:
        n = int(rng.uniform(6, 12) * RATE_HZ)
        frequency, amplitude = ACTIVITIES[label]
        t = np.arange(n) / RATE_HZ
        phase = rng.uniform(0, 2 * np.pi, size=6)
        scale = rng.uniform(0.8, 1.2)
        signal = scale * amplitude * np.sin(2 * np.pi * frequency * t[:, None] + phase)
        signal[:, 2] += 9.81  # gravity on z
        parts.append(signal + rng.normal(scale=0.15, size=(n, 6)))
        segments.append((label, start, start + n / RATE_HZ))
        start += n / RATE_HZ
    return np.concatenate(parts).astype(np.float32), segments


def training_windows(sessions: list) -> SequenceDataset:
    """Windows lying inside one true segment, labelled by it."""
    names = list(ACTIVITIES)
    X, y = [], []
    for signal, segments in sessions:
        for label, start_s, end_s in segments:
            first, last = int(round(start_s * RATE_HZ)), int(round(end_s * RATE_HZ))
            for begin in range(first, last - WINDOW + 1, STRIDE):
                X.append(signal[begin : begin + WINDOW])
                y.append(names.index(label))
    return SequenceDataset(
        X=np.stack(X),
        lengths=np.full(len(X), WINDOW),
        y=np.array(y),
        label_names=names,
        feature_names=CHANNELS,
        sample_rate_hz=RATE_HZ,
    )


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    overlap = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return overlap / (max(a[1], b[1]) - min(a[0], b[0]))


MODELS = {
    # batch 64: the setting this test was written under; with the later default of 16 (tuned for
    # 40-50-sample sets) the GRU gives 3 spurious segments on this held-out session instead of 0.
    "gru": dict(model_options={"hidden_sizes": [32, 16], "dense": []}, lr=1e-2, epochs=15, batch_size=64),
    "inception": dict(
        model_options={"filters": 8, "depth": 3, "kernel_sizes": [5, 9, 19], "bottleneck": 8}, lr=3e-3, epochs=8
    ),
}


@pytest.mark.parametrize("model", list(MODELS))
def test_streamed_events_match_the_true_segments_of_a_held_out_session(tmp_path, model):
    rng = np.random.default_rng(7)
    train_sessions = [session(rng) for _ in range(8)]
    held_out, truth = session(rng, n_segments=8)
    recognizer = Recognizer(model=model, seed=0, patience=5, **MODELS[model]).fit(training_windows(train_sessions))
    table = pd.DataFrame(held_out, columns=CHANNELS)
    table.insert(0, "time", np.arange(len(held_out)) / RATE_HZ)
    table.to_csv(tmp_path / "session.csv", index=False)

    report, streamer = stream_source(
        recognizer, f"csv:{tmp_path / 'session.csv'}", events=str(tmp_path / "events.jsonl"), fast=True
    )

    assert report.recognized == len(held_out)
    predicted = event_segments(read_events(tmp_path / "events.jsonl"))
    best = [
        max([iou((s, e), (ps, pe)) for label_p, ps, pe in predicted if label_p == label] or [0.0])
        for label, s, e in truth
    ]
    spurious = [
        p
        for p in predicted
        if max([iou((p[1], p[2]), (s, e)) for label, s, e in truth if label == p[0]] or [0.0]) < 0.5
    ]
    matched = sum(score >= 0.5 for score in best)
    print(
        f"\n{model} ({streamer.mode}), held-out session: {len(truth)} true segments, {len(predicted)} event segments, "
        f"{matched} matched at IoU >= 0.5 (mean IoU {np.mean(best):.2f}), {len(spurious)} spurious"
    )
    assert matched >= 0.75 * len(truth)
    assert len(spurious) <= 2
