"""Keypoint feature steps on hand-computed cases, and the streaming (last-row) contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from actrec.data.synthetic import generate_recordings
from actrec.errors import ConfigError
from actrec.features import FeaturePipeline
from actrec.features.keypoints import (
    BoneVectors,
    CentreScale,
    FillGaps,
    JointAngles,
    MaskMissing,
    Velocity,
    graph_channels,
    keypoint_steps,
    pipeline_schema,
)
from actrec.skeletons import get_schema

COCO = get_schema("coco17")
J = COCO.joints.index


def standing_pose() -> np.ndarray:
    """`[17, 2]` coco17 pose: hips at (10, 20) and (14, 20), shoulders 20 px above them."""
    pose = np.zeros((17, 2), dtype=np.float32)
    pose[J("left_hip")], pose[J("right_hip")] = (10, 20), (14, 20)
    pose[J("left_shoulder")], pose[J("right_shoulder")] = (10, 0), (14, 0)
    pose[J("left_wrist")] = (22, 10)
    return pose


def test_centre_on_hips_and_scale_by_torso() -> None:
    X = standing_pose()[None, None]
    out = CentreScale.from_schema(COCO).transform(X, np.array([1]))
    np.testing.assert_allclose(out[0, 0, J("left_wrist")], [(22 - 12) / 20, (10 - 20) / 20])
    np.testing.assert_allclose(out[0, 0, J("left_hip")], [-0.1, 0.0])


def test_centre_scale_falls_back_when_left_hip_is_missing() -> None:
    X = standing_pose()[None, None].copy()
    X[0, 0, J("left_hip")] = np.nan
    out = CentreScale.from_schema(COCO).transform(X, np.array([1]))
    # centre = the remaining hip (14, 20); length = mirrored bone right_shoulder-right_hip = 20
    np.testing.assert_allclose(out[0, 0, J("left_wrist")], [(22 - 14) / 20, (10 - 20) / 20])


def test_hand_angles_straight_and_bent_finger() -> None:
    hand = get_schema("mediapipe_hand")
    pose = np.zeros((21, 3), dtype=np.float32)
    for k, name in enumerate(["index_finger_mcp", "index_finger_pip", "index_finger_dip", "index_finger_tip"]):
        pose[hand.joints.index(name)] = (0, k + 1, 0)  # straight up from the wrist
    pose[hand.joints.index("index_finger_tip")] = (1, 3, 0)  # bent 90 degrees at the dip joint
    step = JointAngles(hand.angle_triples(), coordinate_dims=3)
    out = step.transform(pose[None, None], np.array([1]))
    assert out.shape == (1, 1, 21 * 3 + 15)
    angles = dict(zip([tuple(hand.joints[i] for i in t) for t in hand.angle_triples()], out[0, 0, 63:]))
    assert angles[("wrist", "index_finger_mcp", "index_finger_pip")] == pytest.approx(np.pi)
    assert angles[("index_finger_pip", "index_finger_dip", "index_finger_tip")] == pytest.approx(np.pi / 2)


def test_sign_language_layout_is_99_features() -> None:
    """21 joints x (x, y, z, visibility) + 15 angles, with nothing else switched on."""
    steps = keypoint_steps("mediapipe_hand", max_gap=0, centre_scale=False, velocity=False, presence="none")
    X = np.random.default_rng(0).random((2, 30, 21, 4), dtype=np.float32)
    assert FeaturePipeline(steps).fit_transform(X, np.array([30, 30])).shape == (2, 30, 99)


def test_bone_vectors_and_velocity() -> None:
    X = np.stack([standing_pose(), standing_pose() + 1.5])[None]
    bones = BoneVectors(COCO.parents().tolist()).transform(X, np.array([2]))
    np.testing.assert_allclose(bones[0, 0, J("left_hip"), 2:], X[0, 0, J("left_hip")] - X[0, 0, J("left_shoulder")])
    np.testing.assert_allclose(bones[0, 0, J("nose"), 2:], [0, 0])  # the root has no bone
    velocity = Velocity().transform(X, np.array([2]))
    np.testing.assert_allclose(velocity[0, 0, :, 2:], 0)
    np.testing.assert_allclose(velocity[0, 1, :, 2:], 1.5)


def test_fill_gaps_interpolates_short_holds_live_edge_and_masks_long() -> None:
    track = np.arange(12, dtype=np.float32)
    X = np.repeat(track[None, :, None, None], 2, axis=3)  # one joint, x = y = frame number
    X[0, 2:4] = np.nan  # short interior gap: interpolated
    X[0, 5:9] = np.nan  # 4 frames > max_gap 3: stays missing
    X[0, 10:] = np.nan  # open at the end: the last seen value is held
    out = FillGaps(max_gap=3).transform(X, np.array([12]))[0, :, 0, 0]
    np.testing.assert_allclose(out[[2, 3]], [2, 3])
    assert np.isnan(out[5:9]).all()
    np.testing.assert_allclose(out[10:], [9, 9])
    held = FillGaps(max_gap=3, method="hold").transform(X, np.array([12]))[0, :, 0, 0]
    np.testing.assert_allclose(held[[2, 3]], [1, 1])
    np.testing.assert_allclose(held[5:9], [4, 4, 4, np.nan])
    masked = MaskMissing("frame").transform(FillGaps(max_gap=3).transform(X, np.array([12])), np.array([12]))
    np.testing.assert_allclose(masked[0, 5:9], [[0, 0, 0]] * 4)  # NaN -> 0, presence 0
    assert masked[0, 4, 2] == 1


@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("fill", ["linear", "hold"])
def test_last_row_of_a_short_tail_equals_the_full_window(graph: bool, fill: str) -> None:
    recording = generate_recordings(1, seed=3, duration_s=8)[0][0]
    X = recording.keypoints[None, :120].copy()
    X[0, 40:43] = np.nan  # add a whole-frame gap on top of the simulated misses
    pipeline = FeaturePipeline(keypoint_steps("coco17", graph=graph, fill=fill, bones=True))
    pipeline.fit(X, np.array([120]))
    context = pipeline.context_frames
    assert context == 5 + 1
    for end in range(context + 1, 121):
        full = pipeline.transform(X[:, :end], np.array([end]))[0, -1]
        tail = pipeline.transform(X[:, end - context - 1 : end], np.array([context + 1]))[0, -1]
        np.testing.assert_allclose(tail, full, atol=1e-5, err_msg=f"frame {end - 1}")


def test_graph_layout_is_joint_major() -> None:
    recording = generate_recordings(1, seed=1, duration_s=3)[0][0]
    X = recording.keypoints[None]
    lengths = np.array([len(recording.keypoints)])
    steps = keypoint_steps("coco17", graph=True)
    out = FeaturePipeline(steps).fit_transform(X, lengths)
    channels = graph_channels(steps, in_channels=2)
    assert channels == 2 + 2 + 1  # coordinates, velocities, presence
    per_joint = out.reshape(1, -1, 17, channels)
    normalised = FeaturePipeline(steps[:2]).transform(X, lengths)
    np.testing.assert_allclose(per_joint[..., :2], np.nan_to_num(normalised), atol=1e-6)
    with pytest.raises(ConfigError):
        graph_channels(keypoint_steps("coco17"), 2)


def test_state_round_trips_through_json() -> None:
    recording = generate_recordings(1, seed=2, duration_s=3)[0][0]
    X, lengths = recording.keypoints[None], np.array([len(recording.keypoints)])
    pipeline = FeaturePipeline(keypoint_steps("coco17", bones=True))
    expected = pipeline.fit_transform(X, lengths)
    state = json.loads(json.dumps(pipeline.get_state()))
    assert {entry["state"].get("schema") for entry in state} >= {"coco17"}
    np.testing.assert_array_equal(FeaturePipeline.from_state(state).transform(X, lengths), expected)


def test_subset_pipeline_uses_the_subset_schema() -> None:
    steps = keypoint_steps("openpose_137", joints=["body", "left_hand_core", "right_hand_core"])
    assert pipeline_schema("openpose_137", steps).n_joints == 47
    X = np.random.default_rng(0).random((1, 10, 137, 3), dtype=np.float32)
    out = FeaturePipeline(steps).fit_transform(X, np.array([10]))
    n_angles = len(pipeline_schema("openpose_137", steps).angle_triples())
    assert out.shape == (1, 10, 47 * (3 + 2) + n_angles + 1)


def test_wrong_joint_count_is_a_config_error() -> None:
    steps = keypoint_steps("openpose_137", joints=["body"])
    with pytest.raises(ConfigError, match="expects \\[137 joints"):
        FeaturePipeline(steps).fit(np.zeros((1, 5, 17, 2), dtype=np.float32), np.array([5]))


def test_too_few_joints_for_the_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="centre_scale: data has 10 joints per frame but schema 'coco17'"):
        FeaturePipeline(keypoint_steps("coco17")).fit(np.zeros((1, 5, 10, 2), dtype=np.float32), np.array([5]))
