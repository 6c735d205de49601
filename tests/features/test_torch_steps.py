"""The torch form of the feature steps (what export traces into ONNX) equals the NumPy steps."""

import numpy as np
import pytest
import torch

from actrec.errors import ConfigError
from actrec.features.keypoints import keypoint_steps
from actrec.features.pipeline import FeaturePipeline, Standardize, Step
from actrec.features.torch_steps import TorchPipeline, angle_between

torch.set_num_threads(1)
JOINTS = {"coco17": 17, "mediapipe_hand": 21, "mediapipe_pose": 33}


def keypoints_with_gaps(n_joints: int, channels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`[12, 20, J, C]` with every kind of gap: random joints, whole frames, a joint never seen,
    a whole sample, one coordinate only, gaps at the start and at the live edge; and lengths."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 20, n_joints, channels)).astype(np.float32)
    X[rng.random(X.shape[:3]) < 0.3] = np.nan
    X[1, 4:9] = np.nan
    X[2, :, 0] = np.nan
    X[3] = np.nan
    X[4, 2:4, :, 0] = np.nan
    X[5, :3] = np.nan
    X[6, 15:] = np.nan
    lengths = rng.integers(1, 21, size=12)
    lengths[:7] = 20
    return X, lengths


@pytest.mark.parametrize(
    "schema, channels, options",
    [
        ("mediapipe_hand", 3, {}),
        ("mediapipe_hand", 3, {"max_gap": 2, "velocity": False}),
        ("coco17", 3, {"fill": "hold"}),
        ("coco17", 2, {"graph": True, "bones": True}),
        ("mediapipe_pose", 4, {"bones": True, "joints": ["arms", "hands"]}),
        ("mediapipe_pose", 4, {"max_gap": 0, "centre_scale": False, "presence": "none"}),
    ],
)
def test_torch_pipeline_gives_the_numpy_features_on_keypoints_with_gaps(schema, channels, options):
    X, lengths = keypoints_with_gaps(JOINTS[schema], channels)
    assert_torch_pipeline_equals_numpy(FeaturePipeline(keypoint_steps(schema, **options) + [Standardize()]), X, lengths)


def assert_torch_pipeline_equals_numpy(pipeline: FeaturePipeline, X: np.ndarray, lengths: np.ndarray) -> None:
    """`pipeline` fitted on `X`: its TorchPipeline gives the NumPy features, finite, to 1e-5."""
    expected = pipeline.fit_transform(X, lengths)
    with torch.no_grad():
        got = TorchPipeline(pipeline)(torch.from_numpy(X), torch.from_numpy(lengths)).numpy()
    assert got.shape == expected.shape and np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_each_torch_step_keeps_the_numpy_steps_nan_pattern():
    X, lengths = keypoints_with_gaps(21, 3, seed=1)
    pipeline = FeaturePipeline(keypoint_steps("mediapipe_hand", bones=True))
    pipeline.fit(X, lengths)
    expected, got = X, torch.from_numpy(X)
    for step, module in zip(pipeline.steps, TorchPipeline(pipeline).steps):
        expected = step.transform(expected, lengths)
        with torch.no_grad():
            got = module(got, torch.from_numpy(lengths))
        np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(expected), err_msg=step.name)
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5, err_msg=step.name)


@pytest.mark.parametrize("schema, channels", [("coco17", 3), ("mediapipe_hand", 2)])
def test_torch_skeleton_modalities_give_the_numpy_stream_features(schema, channels):
    from actrec.features.modalities import modality_steps

    X, lengths = keypoints_with_gaps(JOINTS[schema], channels, seed=2)
    assert_torch_pipeline_equals_numpy(FeaturePipeline(modality_steps(schema) + [Standardize()]), X, lengths)


def test_angles_without_atan2_equal_numpys_including_signed_zeros():
    values = np.array([0.0, -0.0, 1.0, -1.0, 1e-8, 3.0, np.nan], dtype=np.float32)
    cross, dot = (a.ravel() for a in np.meshgrid(np.abs(values), values))
    got = angle_between(torch.from_numpy(cross), torch.from_numpy(dot)).numpy()
    np.testing.assert_allclose(got, np.arctan2(cross, dot), rtol=0, atol=1e-6)


def test_a_step_without_a_torch_form_is_refused_in_one_line():
    class Custom(Step):
        name = "custom_for_test"

    with pytest.raises(ConfigError, match=r"custom_for_test.*no torch form"):
        TorchPipeline(FeaturePipeline([Custom()]))
