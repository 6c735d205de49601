"""Each augmentation keeps the property it must keep."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.data.synthetic import generate_recordings
from actrec.errors import ConfigError
from actrec.features.augment import build_augmenter
from actrec.skeletons import get_schema

COCO = get_schema("coco17")


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return generate_recordings(1, seed=4, duration_s=4)[0][0].keypoints


def run(spec, x: np.ndarray, seed: int = 0, schema: str | None = "coco17") -> tuple[np.ndarray, int]:
    return build_augmenter([spec], schema)(x, len(x), np.random.default_rng(seed))


def bone_lengths(x: np.ndarray) -> np.ndarray:
    a, b = np.array(COCO.bones).T
    return np.linalg.norm(x[:, a] - x[:, b], axis=-1)


def test_mirror_twice_is_identity_and_swaps_left_and_right(sample) -> None:
    mirrored, _ = run({"name": "mirror", "p": 1.0}, sample)
    back, _ = run({"name": "mirror", "p": 1.0}, mirrored)
    np.testing.assert_allclose(back, sample, atol=1e-3)
    assert np.array_equal(np.isnan(back), np.isnan(sample))
    left, right = COCO.joints.index("left_wrist"), COCO.joints.index("right_wrist")
    np.testing.assert_allclose(mirrored[:, left, 1], sample[:, right, 1])  # y kept, joint swapped
    reflected = mirrored[:, left, 0] + sample[:, right, 0]  # x negated about one centre: x' + x = 2c
    assert np.nanstd(reflected) < 1e-3


def test_rotate_keeps_bone_lengths(sample) -> None:
    rotated, _ = run({"name": "rotate", "degrees": 30}, sample)
    assert not np.allclose(rotated, sample, equal_nan=True)
    np.testing.assert_allclose(bone_lengths(rotated), bone_lengths(sample), rtol=1e-4)


def test_scale_multiplies_every_bone_by_one_factor(sample) -> None:
    scaled, _ = run({"name": "scale", "low": 0.5, "high": 2.0}, sample)
    ratio = bone_lengths(scaled) / bone_lengths(sample)
    assert np.nanstd(ratio) < 1e-4 and abs(np.nanmean(ratio) - 1) > 1e-3


def test_translate_keeps_bone_vectors(sample) -> None:
    moved, _ = run("translate", sample)
    a, b = np.array(COCO.bones).T
    np.testing.assert_allclose(moved[:, a] - moved[:, b], sample[:, a] - sample[:, b], atol=1e-3)
    assert not np.allclose(moved, sample, equal_nan=True)


def test_jitter_is_small_noise_that_keeps_missing_joints_missing(sample) -> None:
    noisy, _ = run({"name": "jitter", "sigma": 0.01}, sample)
    assert np.array_equal(np.isnan(noisy), np.isnan(sample))
    difference = np.nan_to_num(noisy - sample)
    size = np.nanmax(sample[..., 1]) - np.nanmin(sample[..., 1])
    assert 0 < np.abs(difference).mean() < 0.02 * size


def test_speed_resamples_time_and_returns_the_new_length() -> None:
    ramp = np.arange(60, dtype=np.float32)[:, None, None] * np.ones((1, 17, 2), dtype=np.float32)
    fast, length = run({"name": "speed", "low": 1.5, "high": 1.5}, ramp)
    assert length == len(fast) == 40
    np.testing.assert_allclose(fast[:, 0, 0], np.arange(40) * 1.5, atol=1e-4)  # a ramp stays a ramp
    _, length = run({"name": "speed", "low": 0.5, "high": 0.5}, ramp)
    assert length == 120


def test_dropout_only_hides_joints(sample) -> None:
    dropped, _ = run({"name": "dropout", "rate": 0.2}, sample)
    assert np.isnan(sample).sum() < np.isnan(dropped).sum()
    seen = ~np.isnan(dropped)
    np.testing.assert_array_equal(dropped[seen], sample[seen])


def test_sensor_data_takes_jitter_scale_and_speed_only() -> None:
    x = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    augmenter = build_augmenter(["jitter", "scale", {"name": "speed", "low": 2.0, "high": 2.0}], None)
    out, length = augmenter(x, 50, np.random.default_rng(0))
    assert out.shape == (25, 6) and length == 25
    with pytest.raises(ConfigError, match="'mirror' needs keypoint data"):
        build_augmenter(["mirror"], None)


def test_same_seed_same_augmentation(sample) -> None:
    specs = ["mirror", "rotate", "scale", "translate", "jitter", "speed", "dropout"]
    first = build_augmenter(specs, "coco17")(sample, len(sample), np.random.default_rng(7))[0]
    second = build_augmenter(specs, "coco17")(sample, len(sample), np.random.default_rng(7))[0]
    np.testing.assert_array_equal(first, second)


def test_bad_specs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown augmentation 'flip'"):
        build_augmenter(["flip"], "coco17")
    with pytest.raises(ConfigError, match="has no option 'angle'"):
        build_augmenter([{"name": "rotate", "angle": 5}], "coco17")
    assert build_augmenter([], "coco17") is None
