"""Noisy sine waves whose frequency is the class, for tests that need a small learnable set."""

from __future__ import annotations

import numpy as np

from actrec.data.dataset import SequenceDataset


def make_waves(
    n: int = 120, steps: int = 32, features: int = 4, classes: int = 3, seed: int = 0, ragged: bool = False
) -> SequenceDataset:
    """Noisy sine waves whose frequency is the class: learnable in a few epochs.

    Groups of 4 consecutive samples share a 'video' so group-aware splits can be checked.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    t = np.linspace(0, 1, steps)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, features))
    X = np.sin(2 * np.pi * (y[:, None, None] + 1) * 2 * t[None, :, None] + phase) + rng.normal(
        scale=0.3, size=(n, steps, features)
    )
    lengths = rng.integers(steps // 2, steps + 1, size=n) if ragged else np.full(n, steps)
    X[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
    return SequenceDataset(
        X=X.astype(np.float32),
        lengths=lengths,
        y=y,
        label_names=[f"class{c}" for c in range(classes)],
        groups=np.array([f"video{i // 4}" for i in range(n)]),
        ids=np.array([f"s{i}" for i in range(n)]),
        source="waves",
    )


def sine_session(
    seed: int, n_segments: int = 14, rate_hz: float = 20.0, classes: tuple[str, ...] = ("slow", "medium", "fast")
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, float, float]]]:
    """A continuous session of back-to-back actions 3-7 s long: noisy sines whose frequency is the
    class. Returns frames float32 `[T, 2]`, times `[T]` in seconds and the true segments
    (label, start_s, end_s)."""
    rng = np.random.default_rng(seed)
    frames, truth, t0 = [], [], 0.0
    for _ in range(n_segments):
        label = int(rng.integers(len(classes)))
        steps = int(rng.uniform(3, 7) * rate_hz)
        t = np.arange(steps) / rate_hz
        signal = np.sin(2 * np.pi * (0.8 + 1.2 * label) * t + rng.uniform(0, 6.3))
        frames.append(
            np.stack([signal, np.cos(2 * np.pi * (0.8 + 1.2 * label) * t)], 1) + rng.normal(scale=0.9, size=(steps, 2))
        )
        truth.append((classes[label], t0, t0 + steps / rate_hz))
        t0 += steps / rate_hz
    values = np.concatenate(frames).astype(np.float32)
    return values, np.arange(len(values)) / rate_hz, truth
