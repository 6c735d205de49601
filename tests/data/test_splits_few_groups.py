"""Issue 19, item 4: with few groups per class, group-aware splits still put every class in
train, validation and test when the groups allow it, and say which class could not be placed
and why when they do not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from actrec.data.dataset import SequenceDataset
from actrec.data.splits import plan_splits, split_notes


def videos(groups_per_class: list[int], windows_per_video: int = 5, seed: int = 0, spread: int = 4) -> SequenceDataset:
    """Windows of whole videos, each video one class; video sizes vary (by up to `spread`
    windows) as real ones do."""
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for label, n_videos in enumerate(groups_per_class):
        for video in range(n_videos):
            count = windows_per_video + int(rng.integers(0, spread))
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


@pytest.mark.parametrize("seed", range(8))
def test_three_videos_of_uneven_length_per_class_put_one_in_each_split(seed):
    data = videos([3, 3, 3], windows_per_video=2, seed=seed, spread=40)
    plan = plan_splits(data, seed=seed, val_fraction=0.2, test_fraction=0.2)
    for part in (plan.train, plan.validation, plan.test):
        assert set(data.y[part]) == {0, 1, 2}
        assert len(set(data.groups[part])) == 3  # so one video of each class


def test_a_class_with_two_videos_is_kept_in_train_and_test_and_one_note_says_why():
    data = videos([4, 4, 2])
    plan = plan_splits(data, seed=0, val_fraction=0.2, test_fraction=0.2)
    train, validation, test = plan.parts(data)
    assert 2 in set(train.y) and 2 in set(test.y) and 2 not in set(validation.y)
    notes = split_notes(plan, data, data.label_names)
    assert notes == [
        "class 'c' has 2 groups (videos, subjects or sessions) and a group lies wholly in one split: it cannot be "
        "in train, validation and test; it is kept in train and test, and the validation metrics cover the other "
        "classes only (give more groups of it)"
    ]
    complete = videos([4, 4, 4])
    assert (
        split_notes(plan_splits(complete, seed=0, val_fraction=0.2, test_fraction=0.2), complete, ["a", "b", "c"]) == []
    )


def test_a_class_in_one_video_with_a_test_set_of_its_own_stays_in_train_and_the_note_says_so():
    data = videos([4, 4, 1])
    plan = plan_splits(data, seed=0, val_fraction=0.2)  # the caller has its own test set
    train, validation, _ = plan.parts(data)
    assert 2 in set(train.y) and 2 not in set(validation.y)
    (note,) = split_notes(plan, data, data.label_names)
    assert note.startswith("class 'c' has 1 group (videos, subjects or sessions) and a group lies wholly in one split")
    assert "cannot be in train and validation; it is kept in train, and the validation metrics" in note


def subjects(n_subjects: int, seed: int) -> SequenceDataset:
    """Subjects who each perform some of 5 actions (a few windows of each), the usual shape of
    subject groups: a group holds several classes, so placing one group moves several classes."""
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for subject in range(n_subjects):
        actions = np.flatnonzero(rng.random(5) < 0.6)
        for action in actions if len(actions) else [int(rng.integers(5))]:
            count = int(rng.integers(2, 20))
            labels += [int(action)] * count
            groups += [f"s{subject}"] * count
    present = sorted(set(labels))
    return SequenceDataset(
        X=np.zeros((len(labels), 2, 1)),
        lengths=np.full(len(labels), 2),
        y=np.array([present.index(label) for label in labels]),
        label_names=[f"k{label}" for label in present],
        groups=np.array(groups),
        source="subjects.npz",
    )


def wanted_splits(n_groups: int) -> set[int]:
    """Where a class with `n_groups` groups can be: train first, then test, then validation."""
    return {0, 2, 1} if n_groups >= 3 else {0, 2} if n_groups == 2 else {0}


def some_assignment_places_every_class(data: SequenceDataset) -> bool:
    """Brute force over every assignment of whole groups to (train, validation, test)."""
    names = sorted(set(data.groups))
    holders = [{names.index(g) for g in set(data.groups[data.y == label])} for label in range(data.n_classes)]
    for assignment in itertools.product(range(3), repeat=len(names)):
        if all({assignment[g] for g in held} >= wanted_splits(len(held)) for held in holders):
            return True
    return False


@pytest.mark.parametrize("seed", [0, 2, 3, 6, 7, 12])
def test_subjects_holding_several_classes_still_put_every_class_in_every_split(seed):
    data = subjects(6, seed)
    assert some_assignment_places_every_class(data)  # the generated case is solvable
    plan = plan_splits(data, seed=seed, val_fraction=0.2, test_fraction=0.2)
    parts = (plan.train, plan.validation, plan.test)
    for label in range(data.n_classes):
        held_by = len(set(data.groups[data.y == label]))
        assert {s for s, part in enumerate(parts) if label in set(data.y[part])} >= wanted_splits(held_by)
    sides = [set(data.groups[part]) for part in parts]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert sorted(np.concatenate(parts).tolist()) == list(range(data.n_samples))
    again = plan_splits(data, seed=seed, val_fraction=0.2, test_fraction=0.2)
    assert all(np.array_equal(a, b) for a, b in zip(parts, (again.train, again.validation, again.test)))


def test_a_class_of_two_videos_one_a_single_window_is_split_not_refused():
    """Its one-window video may be the one left for train and validation; a group stays whole,
    so the validation cut must not ask that class for two samples."""
    labels = [0] * 20 + [1] * 20 + [2] * 6
    groups = [f"a{i % 4}" for i in range(20)] + [f"b{i % 4}" for i in range(20)] + ["c0"] + ["c1"] * 5
    data = SequenceDataset(
        X=np.zeros((46, 2, 1)),
        lengths=np.full(46, 2),
        y=np.array(labels),
        label_names=["a", "b", "c"],
        groups=np.array(groups),
        source="videos.npz",
    )
    for seed in range(4):
        train, validation, test = plan_splits(data, seed=seed, val_fraction=0.2, test_fraction=0.2).parts(data)
        assert 2 in set(train.y) and 2 in set(test.y)
        assert {0, 1} <= set(validation.y) and set(train.groups).isdisjoint(test.groups)
