"""Frame sampling and clip augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.data.clip_sampling import ClipConfig, ClipDataset, flip_table, frame_indices
from actrec.errors import ConfigError


def test_segments_take_one_frame_per_part_and_the_middle_at_test() -> None:
    assert frame_indices(16, 4, "segments", 1, None).tolist() == [2, 6, 10, 14]
    drawn = frame_indices(16, 4, "segments", 1, np.random.default_rng(0))
    assert all(4 * i <= index < 4 * (i + 1) for i, index in enumerate(drawn))


def test_dense_clips_are_strided_centred_at_test_and_loop_short_videos() -> None:
    assert frame_indices(20, 4, "dense", 2, None).tolist() == [6, 8, 10, 12]
    assert frame_indices(5, 4, "dense", 2, None).tolist() == [0, 2, 4, 1]
    views = [frame_indices(40, 4, "dense", 2, None, clip, 3)[0] for clip in range(3)]
    assert views == sorted(views) and len(set(views)) == 3


def still_video(index: int) -> np.ndarray:
    rng = np.random.default_rng(index)
    frame = rng.integers(0, 255, (1, 40, 48, 3), dtype=np.uint8)
    return np.repeat(frame, 12, axis=0)


def test_augmentation_is_the_same_on_every_frame_of_a_clip() -> None:
    config = ClipConfig(frames=6, size=24, min_scale=0.3, jitter=0.4, flip=True)
    dataset = ClipDataset(still_video, 4, np.zeros(4, dtype=np.int64), config, "dense", train=True)
    for index in range(4):
        clip, frames, _ = dataset[index]
        assert clip.shape == (3, 6, 24, 24) and int(frames) == 6
        assert np.allclose(clip[:, :1].numpy(), clip.numpy(), atol=1e-5)  # a still video stays still


def test_flip_swaps_the_labels_of_paired_classes_only() -> None:
    assert flip_table(["left", "right", "up"], ["left:right"]).tolist() == [1, 0, 2]
    config = ClipConfig(frames=2, size=16, flip=True, flip_pairs=["left:right"])
    labels = np.zeros(40, dtype=np.int64)
    dataset = ClipDataset(
        still_video,
        40,
        labels,
        config,
        "dense",
        train=True,
        flip_labels=flip_table(["left", "right"], config.flip_pairs),
    )
    seen = {int(dataset[i][2]) for i in range(40)}
    assert seen == {0, 1}
    with pytest.raises(ConfigError, match="flip pair"):
        ClipConfig(flip_pairs=["left"]).check(["left", "right"])


def test_test_time_views_are_stacked() -> None:
    config = ClipConfig(frames=4, size=24, test_clips=3)
    clip, _, _ = ClipDataset(still_video, 1, None, config, "dense", train=False)[0]
    assert clip.shape == (3, 3, 4, 24, 24)


def wide_video(index: int) -> np.ndarray:
    """12 frames of 24 x 48 whose red value is the column index: a crop shows where it starts."""
    columns = np.broadcast_to(np.arange(48, dtype=np.uint8)[None, None, :, None], (12, 24, 48, 1))
    return np.concatenate([columns, np.zeros((12, 24, 48, 2), dtype=np.uint8)], axis=3)


def test_three_crops_take_start_centre_and_end_of_the_long_side_for_every_clip() -> None:
    config = ClipConfig(frames=4, size=24, test_clips=2, test_crops=3)
    views, _, _ = ClipDataset(wide_video, 1, None, config, "dense", train=False)[0]
    assert views.shape == (6, 3, 4, 24, 24)
    red = views[:, 0, 0, 0, 0] * 0.229 + 0.485  # undo the normalisation: column / 255
    assert np.allclose(red.numpy() * 255, [0, 12, 24, 0, 12, 24], atol=1e-3)  # clip-major, crops in order
    with pytest.raises(ConfigError, match="test_crops"):
        ClipConfig(test_crops=2).check()
