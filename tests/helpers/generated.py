"""Small labelled sequence sets the evaluation tests generate: each class is a sine of its own
frequency on its own channel plus noise, recorded by several subjects (groups)."""

from __future__ import annotations

import numpy as np

from actrec.data.dataset import SequenceDataset


def make_dataset(
    n_per_class: int = 40,
    n_classes: int = 4,
    n_channels: int = 4,
    steps: int = 32,
    n_groups: int = 8,
    noise: float = 0.3,
    seed: int = 0,
    prefix: str = "s",
) -> SequenceDataset:
    """`[N, steps, n_channels]` float32 with ragged lengths (steps*3/4 .. steps), ids, groups and
    meta start/end seconds of each window in its recording."""
    rng = np.random.default_rng(seed)
    n = n_per_class * n_classes
    y = np.repeat(np.arange(n_classes), n_per_class)
    lengths = rng.integers(steps * 3 // 4, steps + 1, size=n)
    groups = rng.integers(0, n_groups, size=n)
    t = np.arange(steps)[None, :]
    X = rng.normal(0.0, noise, size=(n, steps, n_channels)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    frequency = 0.05 + 0.06 * y[:, None]
    signal = np.sin(2 * np.pi * frequency * t + phase)
    X[np.arange(n), :, y % n_channels] += signal.astype(np.float32)
    X += (groups[:, None, None] * 0.05).astype(np.float32)
    X[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
    start = rng.uniform(0, 100, size=n).round(2)
    return SequenceDataset(
        X=X,
        lengths=lengths,
        y=y,
        label_names=[f"action{c}" for c in range(n_classes)],
        groups=np.array([f"subject{g}" for g in groups]),
        ids=np.array([f"{prefix}{i}" for i in range(n)]),
        meta={"start_s": start, "end_s": start + lengths / 10.0},
        sample_rate_hz=10.0,
        source=f"<generated {prefix}>",
    )
