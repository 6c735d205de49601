"""Issue 19, item 4: with few groups per class, group-aware splits still put every class in
train, validation and test when the groups allow it, and say which class could not be placed
and why when they do not."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.data.dataset import SequenceDataset
from actrec.data.splits import plan_splits


def videos(groups_per_class: list[int], windows_per_video: int = 5, seed: int = 0) -> SequenceDataset:
    """Windows of whole videos, each video one class; video sizes vary as real ones do."""
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for label, n_videos in enumerate(groups_per_class):
        for video in range(n_videos):
            count = windows_per_video + int(rng.integers(0, 4))
            labels += [label] * count
            groups += [f"c{label}_v{video}"] * count
    n = len(labels)
    return SequenceDataset(
        X=rng.normal(size=(n, 4, 2)),
        lengths=np.full(n, 4),
        y=np.array(labels),
        label_names=["a", "b", "c"][: len(groups_per_class)],
        groups=np.array(groups),
        source="videos.npz",
    )


@pytest.mark.parametrize("seed", range(12))
def test_four_videos_per_class_put_every_class_in_every_split(seed):
    data = videos([4, 4, 4], seed=seed)
    plan = plan_splits(data, seed=seed, val_fraction=0.2, test_fraction=0.2)
    for part in (plan.train, plan.validation, plan.test):
        assert set(data.y[part]) == {0, 1, 2}
    sides = [set(data.groups[part]) for part in (plan.train, plan.validation, plan.test)]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    again = plan_splits(data, seed=seed, val_fraction=0.2, test_fraction=0.2)
    assert np.array_equal(plan.test, again.test) and np.array_equal(plan.validation, again.validation)


def test_a_class_with_two_videos_stays_in_training_and_the_note_says_why():
    from actrec.data.splits import missing_class_note

    data = videos([4, 4, 2])
    plan = plan_splits(data, seed=0, val_fraction=0.2, test_fraction=0.2)
    train, validation, test = plan.parts(data)
    assert 2 in set(train.y)
    short = [name for name, part in (("validation", validation), ("test", test)) if 2 not in set(part.y)]
    assert len(short) == 1  # one of its two videos trains, the other is scored
    note = missing_class_note(short[0], validation if short[0] == "validation" else test, data, data.label_names)
    assert f"the {short[0]} split" in note and "has no 'c'" in note and "2 group(s)" in note and "need 3 groups" in note
    assert missing_class_note("test", data, data, data.label_names) is None
