"""Seeded clip training learns the same weights however the machine runs it: in the main process
or in DataLoader workers whose decoding is slow and uneven, with the clock running fast."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.data.clips import load_clips
from actrec.recognizers import clip as video_recognizer
from actrec.recognizers.clip import VideoRecognizer
from tests.helpers.clip_data import NEEDS_OPENCV, TINY, TINY_CLIP

pytest.importorskip("cv2", reason=NEEDS_OPENCV)


def trained_weights(data: Path, workers: int) -> dict[str, torch.Tensor]:
    clips = load_clips(data).subset(np.arange(0, 120, 5))  # 24 clips: 6 batches of 4 an epoch
    recognizer = VideoRecognizer(
        "tsm",
        model_options=TINY,
        clip=TINY_CLIP | {"sampling": "dense", "workers": workers},
        epochs=3,
        batch_size=4,
        patience=3,
        seed=5,
    )
    recognizer.fit(clips)
    assert recognizer.network is not None
    return recognizer.network.state_dict()


def test_seeded_clip_training_is_the_same_with_workers_slow_decoding_and_a_fast_clock(
    motion_clips: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers whose reads sleep at random (so batches arrive in a different order of
    completion each run) and a clock running 10x fast give the weights one quiet process does.

    On 2026-12-03 main failed this from the second epoch on: torch's RandomSampler drew another
    permutation when the workers read ahead past an epoch's end, so the batch order of every
    later epoch depended on the number of workers."""
    quiet = trained_weights(motion_clips, workers=0)

    read = video_recognizer.CachedFrames.__call__

    def slow_read(self: video_recognizer.CachedFrames, index: int) -> np.ndarray:
        time.sleep(random.uniform(0.0, 0.01))
        return read(self, index)

    started = {name: getattr(time, name)() for name in ("time", "monotonic", "perf_counter")}
    for name, clock in [(name, getattr(time, name)) for name in started]:
        monkeypatch.setattr(time, name, lambda clock=clock, start=started[name]: start + 10.0 * (clock() - start))
    monkeypatch.setattr(video_recognizer.CachedFrames, "__call__", slow_read)
    busy = trained_weights(motion_clips, workers=2)

    assert quiet.keys() == busy.keys()
    assert all(torch.equal(quiet[name], busy[name]) for name in quiet)
