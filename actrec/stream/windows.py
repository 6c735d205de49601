"""The windows a stream sees: the one ending at every frame, shorter while it warms up."""

from __future__ import annotations

import numpy as np


def trailing_windows(sequence: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """`[T, ...]` -> windows float32 `[T, width, ...]` (window t ends at frame t, zero-padded at
    the end while fewer than `width` frames exist) and their lengths int64 `[T]`.

    Batch-predicting these must give what streaming gives frame by frame; parity checks use it.
    """
    windows = np.zeros((len(sequence), width) + sequence.shape[1:], np.float32)
    lengths = np.zeros(len(sequence), np.int64)
    for end in range(len(sequence)):
        start = max(0, end - width + 1)
        windows[end, : end - start + 1] = sequence[start : end + 1]
        lengths[end] = end - start + 1
    return windows, lengths
