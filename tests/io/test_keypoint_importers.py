"""Importers of existing keypoint files: OpenPose JSON, COCO-17 JSON, MediaPipe JSON/CSV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from actrec.errors import DataError
from actrec.features.keypoints import SelectJoints
from actrec.io.keypoints import read_coco_json, read_mediapipe, read_openpose_json
from actrec.skeletons import get_schema


def openpose_person(base: float, confidence: float, parts: bool = True) -> dict:
    """A person whose joint k of each part has x = base + k, y = 2 * (base + k)."""

    def block(size: int, offset: float) -> list[float]:
        return [v for k in range(size) for v in (base + offset + k, 2 * (base + offset + k), confidence)]

    person = {"person_id": [-1], "pose_keypoints_2d": block(25, 0)}
    person["face_keypoints_2d"] = block(70, 100) if parts else []
    person["hand_left_keypoints_2d"] = block(21, 200) if parts else []
    person["hand_right_keypoints_2d"] = block(21, 300) if parts else []
    return person


@pytest.fixture
def openpose_folder(tmp_path):
    frames = {
        10: [openpose_person(0, 0.3), openpose_person(1000, 0.9)],  # second person more confident
        11: [],  # nobody detected
        12: [openpose_person(0, 0.8, parts=False)],  # body only
        13: [openpose_person(0, 0.7)],
    }
    frames[13][0]["pose_keypoints_2d"][3 * 4 + 2] = 0.0  # right wrist undetected
    for number, people in frames.items():
        (tmp_path / f"clip_{number:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    return tmp_path


def test_openpose_json_gives_137_joints_with_nan_where_undetected(openpose_folder) -> None:
    recording = read_openpose_json(openpose_folder, get_schema("openpose_137"), fps=25)
    assert recording.keypoints.shape == (4, 137, 3)
    assert recording.schema == "openpose_137" and recording.fps == 25
    np.testing.assert_array_equal(recording.frame_index, [10, 11, 12, 13])
    np.testing.assert_array_equal(recording.present, [True, False, True, True])
    assert recording.keypoints[0, 0, 0] == 1000  # most confident person
    assert recording.keypoints[0, 95, 0] == 1200 and recording.keypoints[0, 116, 0] == 1300  # left, right hand
    assert np.isnan(recording.keypoints[1]).all()
    assert np.isnan(recording.keypoints[2, 25:]).all() and np.isfinite(recording.keypoints[2, :25]).all()
    assert np.isnan(recording.keypoints[3, 4]).all() and np.isfinite(recording.keypoints[3, 3]).all()


def test_openpose_first_person_and_47_joint_subset_by_group_names(openpose_folder) -> None:
    recording = read_openpose_json(openpose_folder, get_schema("openpose_137"), person="first")
    assert recording.keypoints[0, 0, 0] == 0
    step, sub = SelectJoints.from_schema(get_schema("openpose_137"), ["body", "left_hand_core", "right_hand_core"])
    selected = step.transform(recording.keypoints[None], np.array([4]))
    assert selected.shape == (1, 4, 47, 3) and sub.n_joints == 47
    assert selected[0, 0, 25, 0] == 200  # left hand wrist = hand joint 0
    assert selected[0, 0, 27, 0] == 204  # then thumb base (1), thumb tip (4)


def test_openpose_broken_json_names_file_and_line(tmp_path) -> None:
    (tmp_path / "a_000000000000_keypoints.json").write_text('{"people": [')
    with pytest.raises(DataError, match=r"a_000000000000_keypoints.json line 1: not valid JSON"):
        read_openpose_json(tmp_path, get_schema("openpose_137"))


def coco_keypoints(x0: float, score: float) -> list[float]:
    return [v for k in range(17) for v in (x0 + k, 10.0 + k, score)]


def test_coco_results_keep_best_person_and_mark_missing_frames(tmp_path) -> None:
    results = [
        {"image_id": 0, "category_id": 1, "keypoints": coco_keypoints(0, 0.4), "score": 0.4},
        {"image_id": 0, "category_id": 1, "keypoints": coco_keypoints(500, 0.9), "score": 0.9},
        {"image_id": 1, "category_id": 1, "keypoints": coco_keypoints(0, 0.8), "score": 0.8},
        {"image_id": 3, "category_id": 1, "keypoints": coco_keypoints(0, 0.0), "score": 0.1},
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    recording = read_coco_json(path, fps=10)
    assert recording.keypoints.shape == (4, 17, 3) and recording.schema == "coco17"
    assert recording.keypoints[0, 0, 0] == 500
    np.testing.assert_array_equal(recording.present, [True, True, False, False])  # frame 2 absent, 3 all score 0


def test_coco_annotations_and_mmpose_layouts(tmp_path) -> None:
    coco = {"images": [{"id": 5}, {"id": 6}], "annotations": [{"image_id": 6, "keypoints": coco_keypoints(1, 2)}]}
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    recording = read_coco_json(tmp_path / "coco.json")
    np.testing.assert_array_equal(recording.frame_index, [5, 6])
    np.testing.assert_array_equal(recording.present, [False, True])
    mmpose = [{"frame_id": 0, "instances": [{"keypoints": [[k, k] for k in range(17)], "keypoint_scores": [0.9] * 17}]}]
    (tmp_path / "mmpose.json").write_text(json.dumps(mmpose))
    assert read_coco_json(tmp_path / "mmpose.json").keypoints[0, 3, 0] == 3


def test_coco_wrong_keypoint_count(tmp_path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps([{"image_id": 0, "keypoints": [1, 2, 3]}]))
    with pytest.raises(DataError, match="entry 0 has 3 keypoint values; COCO-17 needs 51"):
        read_coco_json(tmp_path / "bad.json")


def test_mediapipe_json_frames_with_a_missing_frame(tmp_path) -> None:
    frame = {"landmark": [{"x": j / 100, "y": 0.5, "z": -0.1, "visibility": 0.9} for j in range(33)]}
    (tmp_path / "pose.json").write_text(json.dumps({"fps": 15, "frames": [frame, None, frame]}))
    recording = read_mediapipe(tmp_path / "pose.json", get_schema("mediapipe_pose"))
    assert recording.keypoints.shape == (3, 33, 4) and recording.fps == 15
    np.testing.assert_array_equal(recording.present, [True, False, True])
    assert recording.keypoints[2, 7, 0] == pytest.approx(0.07)


def test_mediapipe_csv_long_and_wide(tmp_path) -> None:
    hand = get_schema("mediapipe_hand")
    long = pd.DataFrame(
        [(frame, joint, joint + frame, 2.0 * joint, 0.0) for frame in (0, 1) for joint in range(21)],
        columns=["frame", "landmark", "x", "y", "z"],
    )
    long.to_csv(tmp_path / "long.csv", index=False)
    recording = read_mediapipe(tmp_path / "long.csv", hand, fps=30)
    assert recording.keypoints.shape == (2, 21, 3)
    assert recording.keypoints[1, 4, 0] == 5
    wide = pd.DataFrame({"frame": [0, 1], **{f"{name}_{c}": [1.0, 2.0] for name in hand.joints for c in "xy"}})
    wide.loc[1, "thumb_tip_x"] = np.nan
    wide.to_csv(tmp_path / "wide.csv", index=False)
    recording = read_mediapipe(tmp_path / "wide.csv", hand)
    assert recording.keypoints.shape == (2, 21, 2)
    assert np.isnan(recording.keypoints[1, 4, 0]) and recording.keypoints[1, 3, 0] == 2


def test_mediapipe_wrong_landmark_count(tmp_path) -> None:
    (tmp_path / "hand.json").write_text(json.dumps([[[0.1, 0.2, 0.0]] * 20]))
    with pytest.raises(DataError, match="frame 0 has 20 landmarks; the schema has 21"):
        read_mediapipe(tmp_path / "hand.json", get_schema("mediapipe_hand"))
