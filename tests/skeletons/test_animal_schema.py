"""The built-in animal schema (AP-10K's 17 keypoints): pairs, bones, and mirror augmentation."""

from __future__ import annotations

import numpy as np

from actrec.features.augment import build_augmenter
from actrec.skeletons import builtin_names, get_schema


def test_ap10k_pairs_every_left_joint_with_its_right_and_links_all_joints() -> None:
    schema = get_schema("ap10k")
    assert "ap10k" in builtin_names() and schema.n_joints == 17
    pairs = {(schema.joints[a], schema.joints[b]) for a, b in schema.mirror_pairs}
    assert len(pairs) == 7
    assert ("left_front_paw", "right_front_paw") in pairs and ("left_knee", "right_knee") in pairs
    assert all(left.replace("left_", "right_") == right for left, right in pairs)
    # bones form one tree over the 17 joints rooted at the neck: 16 bones, every joint reached
    assert len(schema.bones) == 16
    reached, frontier = {schema.root}, [schema.root]
    while frontier:
        joint = frontier.pop()
        for parent, child in schema.bones:
            if parent == joint and child not in reached:
                reached.add(child)
                frontier.append(child)
    assert reached == set(range(17))


def test_mirror_augmentation_swaps_an_animals_left_and_right_legs() -> None:
    schema = get_schema("ap10k")
    rng = np.random.default_rng(0)
    pose = rng.uniform(0, 100, size=(5, 17, 3)).astype(np.float32)  # x, y, confidence
    augmenter = build_augmenter([{"name": "mirror", "p": 1.0}], "ap10k")
    mirrored, length = augmenter(pose, 5, rng)
    assert length == 5
    index = {name: i for i, name in enumerate(schema.joints)}
    centre_x = pose[:, [index["neck"], index["root_of_tail"]], 0].mean()  # over the whole sample
    for leg in ("front_paw", "back_paw", "elbow", "knee", "shoulder", "hip"):
        left, right = index[f"left_{leg}"], index[f"right_{leg}"]
        np.testing.assert_allclose(mirrored[:, left, 0], 2 * centre_x - pose[:, right, 0], atol=1e-4)
        np.testing.assert_allclose(mirrored[:, left, 1:], pose[:, right, 1:])
        np.testing.assert_allclose(mirrored[:, right, 1:], pose[:, left, 1:])
    for middle in ("nose", "neck", "root_of_tail"):  # joints on the spine stay themselves
        np.testing.assert_allclose(mirrored[:, index[middle], 1:], pose[:, index[middle], 1:])
