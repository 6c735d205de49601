"""Test-time averaging over several clips and crops of each video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.data.clip_sampling import frame_indices, to_tensor
from actrec.data.clips import load_clips
from actrec.data.synthetic_clips import write_video
from actrec.models.video import build_video_model
from actrec.recognizers.clip import VideoRecognizer
from tests.helpers.clip_data import NEEDS_OPENCV

pytest.importorskip("cv2", reason=NEEDS_OPENCV)


def test_predictions_average_every_clip_and_crop_of_a_video(tmp_path: Path) -> None:
    video = tmp_path / "wide.mp4"
    write_video(video, np.random.default_rng(0).integers(0, 255, (12, 16, 48, 3), dtype=np.uint8), 10)
    recognizer = VideoRecognizer("tsn", model_options={"width": 4, "depth": 10}, clip={"size": 16, "frames": 4})
    recognizer.label_names = ["a", "b", "c"]
    torch.manual_seed(0)
    recognizer.network = build_video_model("tsn", 3, 4, {"width": 4, "depth": 10}).eval()
    proba = recognizer.predict_proba(load_clips(video), test_clips=2, test_crops=3)

    frames = np.asarray(recognizer.frame_cache().frames(video))  # 16 x 48 after decoding
    assert frames.shape[1:3] == (16, 48)
    with torch.no_grad():
        views = [
            torch.softmax(
                recognizer.network(
                    to_tensor(
                        frames[frame_indices(len(frames), 4, "segments", 2, None, clip, 2)][:, :, left : left + 16]
                    )[None]
                ),
                1,
            )[0].numpy()
            for clip in range(2)
            for left in (0, 16, 32)
        ]
    assert np.ptp(np.stack(views), axis=0).max() > 1e-3  # the views differ, so the average is a real one
    assert np.allclose(proba[0], np.mean(views, axis=0), atol=1e-5)
    with torch.no_grad():
        centre = torch.softmax(
            recognizer.network(
                to_tensor(frames[frame_indices(len(frames), 4, "segments", 2, None)][:, :, 16:32])[None]
            ),
            1,
        )[0].numpy()
    assert np.allclose(
        recognizer.predict_proba(load_clips(video))[0], centre, atol=1e-5
    )  # default: the centre of the centre clip
