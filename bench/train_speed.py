"""InceptionTime training speed on the wrist-IMU shape (1185 windows x 250 steps x 6 channels,
7 classes): the default batch of 16 against 64, and the `auto` default (kernel model +
time-budgeted neural member), in one run.

    python bench/train_speed.py [--epochs 60] [--threads 2] [--runs batch16 batch64 auto]

The data are generated (noisy oscillations whose frequency mix is the class, one subject's
quirks per group), so the figures are about speed and stopping; accuracy is a sanity check.
Prints per run: epochs run, seconds per epoch, fit seconds and test top-1.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer


def imu_like(n: int, seed: int, steps: int = 250, channels: int = 6, classes: int = 7) -> SequenceDataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    subjects = rng.integers(0, 20, n)
    t = np.arange(steps) / 50.0
    base = 0.6 + 0.25 * y[:, None, None] + rng.normal(scale=0.08, size=(n, 1, channels))
    X = np.sin(2 * np.pi * base * t[None, :, None] + rng.uniform(0, 6.3, (n, 1, channels)))
    X += 0.5 * np.sin(2 * np.pi * 2 * base * t[None, :, None]) * (y[:, None, None] % 2)
    X += rng.normal(scale=0.7, size=X.shape) + subjects[:, None, None] * 0.05
    return SequenceDataset(
        X=X.astype(np.float32),
        lengths=np.full(n, steps),
        y=y,
        groups=subjects,
        label_names=[f"exercise{c}" for c in range(classes)],
        source="imu-like",
    )


def run(name: str, options: dict, train: SequenceDataset, test: SequenceDataset) -> None:
    start = time.perf_counter()
    recognizer = Recognizer(**options).fit(train)
    seconds = time.perf_counter() - start
    accuracy = float((recognizer.predict_proba(test).argmax(1) == test.y).mean())
    epochs = len(recognizer.history)
    per_epoch = seconds / max(epochs, 1)  # fit time over epochs: set-up included
    print(
        f"{name:<34} epochs {epochs:>3}  {per_epoch:6.1f} s/epoch  fit {seconds:7.1f} s  test top-1 {accuracy:.3f}"
        + (f"  ({recognizer.notes[0]})" if recognizer.notes else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, test = imu_like(1185, 0), imu_like(600, 1)
    for name in args.runs:
        label, options = RUNS[name]
        run(label, options | {"epochs": args.epochs, "seed": 0}, train, test)


RUNS = {
    "batch16": ("inception, batch 16 (default)", {"model": "inception", "batch_size": 16}),
    "batch64": ("inception, batch 64", {"model": "inception", "batch_size": 64}),
    "auto": ("auto (default, 120 s budget)", {"model": "auto"}),
}


if __name__ == "__main__":
    main()
