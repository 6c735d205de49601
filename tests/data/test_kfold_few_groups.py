"""Issue 19, item 4 (k-fold): with few groups per class, group k-fold (`compare --folds`,
`audit`) keeps every class in every fold's train and test parts when the groups allow it, and
says which class could not be placed and why when they do not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from actrec.data.splits import fold_notes, kfold_splits
from tests.data.test_splits_few_groups import subjects, videos


def classes_per_fold(data, splits) -> list[tuple[set, set]]:
    return [(set(data.y[train].tolist()), set(data.y[test].tolist())) for train, test in splits]


@pytest.mark.parametrize("seed", range(10))
def test_four_videos_per_class_put_every_class_in_every_fold(seed):
    data = videos([4, 4, 4], seed=seed, spread=12)
    splits = kfold_splits(data, 4, seed=seed)
    assert classes_per_fold(data, splits) == [({0, 1, 2}, {0, 1, 2})] * 4
    for train, test in splits:
        assert set(data.groups[train]).isdisjoint(data.groups[test])
    assert sorted(np.concatenate([test for _, test in splits]).tolist()) == list(range(data.n_samples))
    assert fold_notes(splits, data) == []
    again = kfold_splits(data, 4, seed=seed)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again))


def some_assignment_places_every_class(data, folds: int) -> bool:
    """Brute force over every assignment of whole groups to folds: each class in min(groups,
    folds) folds' test parts, no fold empty."""
    names = sorted(set(data.groups))
    holders = [{names.index(g) for g in set(data.groups[data.y == label])} for label in range(data.n_classes)]
    return any(
        len(set(assignment)) == folds
        and all(len({assignment[g] for g in held}) == min(len(held), folds) for held in holders)
        for assignment in itertools.product(range(folds), repeat=len(names))
    )


@pytest.mark.parametrize("seed", [0, 2, 4, 5, 6, 8])
def test_subjects_holding_several_classes_train_and_test_every_class_they_can(seed):
    data = subjects(8, seed)
    assert some_assignment_places_every_class(data, 4)  # the generated case is solvable
    splits = kfold_splits(data, 4, seed=seed)
    folds = classes_per_fold(data, splits)
    for label in range(data.n_classes):
        held_by = len(set(data.groups[data.y == label]))
        assert sum(label in test for _, test in folds) == min(held_by, 4), (label, held_by)
        if held_by >= 2:
            assert all(label in train for train, _ in folds)
    for train, test in splits:
        assert set(data.groups[train]).isdisjoint(data.groups[test])
    few = [name for label, name in enumerate(data.label_names) if len(set(data.groups[data.y == label])) < 4]
    assert [note.split("'")[1] for note in fold_notes(splits, data)] == few  # only the unavoidable ones


def test_a_class_with_two_videos_is_tested_in_two_folds_and_one_note_says_why():
    data = videos([5, 5, 2])
    splits = kfold_splits(data, 5, seed=0)
    folds = classes_per_fold(data, splits)
    assert all(train == {0, 1, 2} for train, _ in folds)
    assert sum(2 in test for _, test in folds) == 2 and all({0, 1} <= test for _, test in folds)
    assert fold_notes(splits, data) == [
        "class 'c' has 2 groups (videos, subjects or sessions), fewer than the 5 folds, and a group lies wholly "
        "in one fold: 3 of the 5 folds test without it (their metrics cover the other classes only) "
        "(give more groups of it)"
    ]


def test_a_class_in_one_video_is_trained_on_in_all_folds_but_one():
    data = videos([4, 4, 1])
    splits = kfold_splits(data, 4, seed=0)
    (note,) = fold_notes(splits, data)
    untrained = [number for number, (train, _) in enumerate(classes_per_fold(data, splits)) if 2 not in train]
    assert len(untrained) == 1
    assert note.endswith(
        f"3 of the 4 folds test without it (their metrics cover the other classes only) and fold {untrained[0]} never trains on it (give more groups of it)"
    )
