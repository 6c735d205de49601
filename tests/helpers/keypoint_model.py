"""A tiny keypoint model (COCO-17, x/y/confidence) for the CLI tests of tests/cli, fitted in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer

FPS = 10.0
WINDOW = 8


def keypoint_windows(n: int = 24, seed: int = 0) -> SequenceDataset:
    """[n, WINDOW, 17, 3] windows of two classes ('still', 'wave': the wrists move), 4 groups per class."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, WINDOW, 17, 3)).astype(np.float32) * 0.1
    X[..., 2] = 1.0
    y = np.arange(n) % 2
    X[y == 1, :, 9:11, :2] += np.sin(np.arange(WINDOW))[None, :, None, None] * 3.0
    groups = np.array([f"video{i % 8}" for i in range(n)])
    return SequenceDataset(
        X=X,
        lengths=np.full(n, WINDOW),
        y=y,
        label_names=["still", "wave"],
        groups=groups,
        sample_rate_hz=FPS,
        schema="coco17",
    )


def fit_keypoint_model(folder: Path) -> Path:
    """A GRU on `keypoint_windows`, saved as folder/model.actrec; returns folder."""
    Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(
        keypoint_windows()
    ).save(folder / "model.actrec")
    return folder
