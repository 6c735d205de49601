"""The saved feature pipeline applied one raw frame at a time.

A window that starts at frame s sees frame s as its first frame, so steps with context (velocity)
give frame t a different feature row in a window starting at t than in one starting at t-1. To
stay equal to batch `predict` on every sliding window, `push` returns one row per possible
position: row j is frame t's features in a sequence that starts j frames earlier (j = 0 ..
context_frames); windows older than that all share the last row.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from actrec.errors import ModelFileError
from actrec.features.pipeline import FeaturePipeline, Flatten, Standardize


class FrameFeatures:
    """Incremental `pipeline.transform`: raw frame `[F]` or `[J, C]` in, `[V, F']` rows out."""

    def __init__(self, pipeline: FeaturePipeline) -> None:
        self.pipeline = pipeline
        self.context_frames = pipeline.context_frames
        self.raw: deque[np.ndarray] = deque(maxlen=self.context_frames + 1)
        standardize = [step for step in pipeline.steps if isinstance(step, Standardize)]
        per_frame_only = all(isinstance(step, (Flatten, Standardize)) for step in pipeline.steps)
        # Flatten + Standardize is the common sensor pipeline: two vector ops instead of a call
        # through every step's padding and masking logic.
        self.standardize_only = per_frame_only and len(standardize) == 1 and standardize[0].mean is not None
        # the standardize step's mean and std when they are all the per-frame work (else empty)
        self.mean = self.std = np.zeros(0, np.float32)
        if self.standardize_only:
            self.mean, self.std = np.asarray(standardize[0].mean), np.asarray(standardize[0].std)

    def reset(self) -> None:
        self.raw.clear()

    def push(self, frame: np.ndarray) -> np.ndarray:
        """float32 `[V, F']`: row j = this frame's features in a sequence started j frames ago."""
        frame = np.asarray(frame, dtype=np.float32)
        if self.standardize_only:
            return ((frame.reshape(1, -1) - self.mean) / self.std).astype(np.float32, copy=False)
        self.raw.append(frame)
        count = len(self.raw)
        batch = np.zeros((count, count) + frame.shape, dtype=np.float32)
        frames = list(self.raw)
        for offset in range(count):
            batch[offset, : offset + 1] = frames[count - 1 - offset :]
        lengths = np.arange(1, count + 1, dtype=np.int64)
        features = self.pipeline.transform(batch, lengths)
        return np.ascontiguousarray(features[np.arange(count), np.arange(count)])

    def transform_window(self, frames: np.ndarray) -> np.ndarray:
        """float32 `[L, F']` for a whole raw window `[L, ...]`, exactly as batch predict sees it."""
        return self.pipeline.transform(frames[None], np.array([frames.shape[0]], dtype=np.int64))[0]


def feature_count(pipeline: FeaturePipeline) -> int:
    """Features per frame the network takes: the width of the final `standardize` step."""
    last = pipeline.steps[-1] if pipeline.steps else None
    if not isinstance(last, Standardize) or last.mean is None:
        raise ModelFileError("the model's feature pipeline does not end with a fitted 'standardize' step; retrain it")
    return int(last.mean.shape[0])
