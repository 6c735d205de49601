"""Skeleton schemas: built-ins, subsets by group, mirror pairs, angles and user YAML."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.errors import DataError
from actrec.skeletons import builtin_names, get_schema

QUADRUPED = """
name: quadruped15
joints: [nose, neck, spine_mid, tail_base, tail_tip,
         left_front_elbow, left_front_paw, right_front_elbow, right_front_paw,
         left_back_knee, left_back_paw, right_back_knee, right_back_paw, left_ear, right_ear]
bones:
  - [neck, nose]
  - [nose, left_ear]
  - [nose, right_ear]
  - [neck, spine_mid]
  - [spine_mid, tail_base]
  - [tail_base, tail_tip]
  - [neck, left_front_elbow]
  - [left_front_elbow, left_front_paw]
  - [neck, right_front_elbow]
  - [right_front_elbow, right_front_paw]
  - [tail_base, left_back_knee]
  - [left_back_knee, left_back_paw]
  - [tail_base, right_back_knee]
  - [right_back_knee, right_back_paw]
mirror: auto
groups:
  legs: [left_front_elbow, left_front_paw, right_front_elbow, right_front_paw,
         left_back_knee, left_back_paw, right_back_knee, right_back_paw]
  trunk: [neck, spine_mid, tail_base]
root: spine_mid
scale_bone: [neck, tail_base]
"""


@pytest.mark.parametrize(
    "name, n_joints",
    [
        ("mediapipe_pose", 33),
        ("mediapipe_hand", 21),
        ("mediapipe_holistic", 75),
        ("openpose_body25", 25),
        ("openpose_137", 137),
        ("coco17", 17),
    ],
)
def test_builtin_schemas_have_their_joint_counts_and_valid_mirrors(name: str, n_joints: int) -> None:
    schema = get_schema(name)
    assert name in builtin_names()
    assert schema.n_joints == n_joints
    perm = schema.mirror_permutation()
    assert np.array_equal(perm[perm], np.arange(n_joints))  # mirroring twice is the identity
    for left, right in schema.mirror_pairs:
        assert schema.joints[left].replace("left", "right") == schema.joints[right] or name == "openpose_137"


def test_hand_angles_come_from_the_bone_chains() -> None:
    hand = get_schema("mediapipe_hand")
    triples = hand.angle_triples()
    assert len(triples) == 15
    names = [tuple(hand.joints[i] for i in triple) for triple in triples]
    assert ("wrist", "index_finger_mcp", "index_finger_pip") in names
    assert ("pinky_pip", "pinky_dip", "pinky_tip") in names
    assert all(triple[1] != 0 for triple in triples)  # no angle at the wrist, which has 5 children


def test_openpose_137_to_47_joints_by_group_names() -> None:
    full = get_schema("openpose_137")
    sub, index = full.subset(["body", "left_hand_core", "right_hand_core"])
    assert sub.n_joints == 47 and len(index) == 47
    assert list(index[:25]) == list(range(25))
    assert sub.joints[25:28] == ["left_hand_wrist", "left_hand_thumb_cmc", "left_hand_thumb_tip"]
    parent = dict((child, parent) for parent, child in sub.bones)
    name = sub.joints.index
    # removed joints are bridged: the thumb tip now hangs from the thumb base, the hand from the wrist
    assert parent[name("left_hand_thumb_tip")] == name("left_hand_thumb_cmc")
    assert parent[name("left_hand_wrist")] == name("left_wrist")
    assert (name("left_hand_wrist"), name("right_hand_wrist")) in sub.mirror_pairs
    assert sub.scale_bone == (name("neck"), name("mid_hip"))
    assert len(sub.bones) == 46  # still one tree


def test_adjacency_is_symmetric_with_one_entry_per_bone_end() -> None:
    schema = get_schema("coco17")
    adjacency = schema.adjacency()
    assert np.array_equal(adjacency, adjacency.T)
    assert adjacency.sum() == 2 * len(schema.bones)


def test_user_yaml_quadruped(tmp_path) -> None:
    path = tmp_path / "quadruped15.yaml"
    path.write_text(QUADRUPED)
    schema = get_schema(str(path))
    assert schema.n_joints == 15 and schema.name == "quadruped15"
    pairs = {(schema.joints[a], schema.joints[b]) for a, b in schema.mirror_pairs}
    assert ("left_front_paw", "right_front_paw") in pairs and ("left_ear", "right_ear") in pairs
    assert len(schema.mirror_pairs) == 5
    assert schema.centre == [schema.joints.index("spine_mid")]
    sub, index = schema.subset(["trunk", "nose"])
    assert [schema.joints[i] for i in index] == ["nose", "neck", "spine_mid", "tail_base"]
    assert sub.root == sub.joints.index("spine_mid")


def test_unknown_schema_is_a_one_line_data_error() -> None:
    with pytest.raises(DataError, match="unknown skeleton schema 'kangaroo'") as error:
        get_schema("kangaroo")
    assert "\n" not in str(error.value)


def test_bad_user_yaml_names_the_file(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\njoints: [a, b]\nbones: [[a, c]]\nscale_bone: [a, b]\n")
    with pytest.raises(DataError, match=r"bad.yaml: 'bones' names joint 'c'"):
        get_schema(str(path))
    path.write_text("name: [unclosed\n")
    with pytest.raises(DataError, match="not valid YAML"):
        get_schema(str(path))


def test_unknown_group_in_subset_lists_the_groups() -> None:
    with pytest.raises(DataError, match="no group or joint 'tail'"):
        get_schema("coco17").subset(["tail"])


def test_schema_round_trips_through_a_plain_dict() -> None:
    """A model can save its (possibly user-made or subset) schema as JSON and rebuild it."""
    from actrec.skeletons.schema import schema_from_dict

    sub, _ = get_schema("openpose_137").subset(["body", "left_hand_core", "right_hand_core"])
    assert schema_from_dict(sub.to_dict()) == sub
