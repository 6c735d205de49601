"""Stratified, group-aware splits fixed by one seed.

Windows cut from one video must never sit on both sides of a split, or accuracy is inflated;
when groups exist every split here keeps each group whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)

from actrec.data.dataset import SequenceDataset
from actrec.errors import DataError


def no_groups_note(dataset: SequenceDataset) -> str | None:
    """Without groups, splits draw single samples: neighbouring windows of one video (near copies)
    then land in both train and test and the scores come out too high. Say so; None with groups."""
    if dataset.groups is not None:
        return None
    return (
        f"{dataset.source} has no groups (the video, subject or session of each sample), so windows of one "
        "recording may land in both train and test and inflate the scores; give groups (.npz 'groups', a group "
        "column in labels.csv, --groups FILE for a .npy)"
    )


def check_stratifiable(dataset: SequenceDataset, parts: int = 2) -> None:
    """Every class needs at least `parts` samples (groups) to appear on each side of a split."""
    if dataset.y is None:
        raise DataError(f"{dataset.source}: has no labels; training and evaluation need a label per sample")
    counts = np.bincount(dataset.y, minlength=dataset.n_classes)
    for index in np.flatnonzero((counts > 0) & (counts < parts)):
        raise DataError(
            f"{dataset.source}: class '{dataset.label_names[index]}' has {counts[index]} sample(s); a "
            f"stratified split needs at least {parts}: add samples of it or drop the class"
        )


SEARCH_ATTEMPTS = 16  # seeds tried per fold count before the best incomplete assignment is taken


def holdout_split(
    dataset: SequenceDataset, fraction: float, seed: int, min_keep: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, holdout) with about `fraction` of samples held out, stratified by label.

    With groups, whole groups are held out, so no group is on both sides. StratifiedGroupKFold
    balances the label distribution over the folds, but with few groups per class one fold can
    miss a class entirely; so its folds (for the seed, then for further seeds drawn from it) are
    searched, in order, for the first that holds out a group of every class with at least
    `1 + min_keep` groups while leaving `min(min_keep, groups)` groups of every class in keep
    (`min_keep` 2 when validation is cut from keep next). When no fold of about `fraction` can
    (3 classes of 3 videos each cannot fit in a fifth of 9 videos), fewer, larger folds are
    searched: every class in every split comes before the asked size. When no assignment does,
    the one falling shortest is taken, and `missing_class_note` says why.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"holdout fraction must be between 0 and 1, got {fraction}")
    check_stratifiable(dataset)
    index = np.arange(dataset.n_samples)
    if dataset.groups is None:
        keep, hold = train_test_split(index, test_size=fraction, random_state=seed, stratify=dataset.y)
        return np.sort(keep), np.sort(hold)
    n_groups = len(np.unique(dataset.groups))
    n_splits = min(max(2, int(round(1.0 / fraction))), n_groups)
    if n_splits < 2:
        raise DataError(f"{dataset.source}: only one group ({dataset.groups[0]}); a group-aware split needs at least 2")
    seeds = [seed, *np.random.default_rng(seed).integers(2**31 - 1, size=SEARCH_ATTEMPTS - 1).tolist()]
    group_sets = class_groups(dataset)
    best: tuple[int, np.ndarray, np.ndarray] | None = None
    for folds in range(n_splits, 1, -1):  # fewer, larger folds only when no fold of the asked size holds every class
        for attempt_seed in seeds:
            for keep, hold in _group_holdouts(dataset, index, 1.0 / folds, folds, int(attempt_seed)):
                shortfall = _placement_shortfall(
                    group_sets, set(dataset.groups[keep]), set(dataset.groups[hold]), min_keep
                )
                if best is None or shortfall < best[0]:
                    best = (shortfall, np.sort(keep), np.sort(hold))
                if shortfall == 0:
                    return best[1], best[2]
    assert best is not None
    return best[1], best[2]


def _group_holdouts(dataset: SequenceDataset, index: np.ndarray, fraction: float, n_splits: int, seed: int):
    """Candidate (keep, holdout) pairs keeping groups whole: every StratifiedGroupKFold fold; or,
    when every class has fewer samples than folds (which it refuses), one GroupShuffleSplit."""
    if _every_class_smaller_than(dataset.labels, n_splits):
        yield from GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed).split(
            index, groups=dataset.groups
        )
        return
    yield from StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(
        index, dataset.y, dataset.groups
    )


def _every_class_smaller_than(y: np.ndarray, n_splits: int) -> bool:
    counts = np.bincount(y)
    return bool(counts[counts > 0].max() < n_splits)


def class_groups(dataset: Any) -> list[set]:
    """The set of groups holding samples of each class, by class index."""
    return [set(dataset.groups[dataset.y == label]) for label in range(dataset.n_classes)]


def _placement_shortfall(group_sets: list[set], keep: set, hold: set, min_keep: int) -> int:
    """How many class placements a split misses: a holdout without a class that has groups to
    spare, and a keep side with fewer than `min(min_keep, groups)` groups of a class."""
    shortfall = 0
    for groups in group_sets:
        if not groups:
            continue
        shortfall += max(0, min(min_keep, len(groups)) - len(groups & keep))
        shortfall += int(len(groups) >= 1 + min_keep and not groups & hold)
    return shortfall


def missing_class_note(name: str, split: Any, dataset: Any, label_names: list[str]) -> str | None:
    """A note when `split` (a part of `dataset`, or a separate test set when `dataset` is None)
    lacks classes: which ones and why (how many groups each has), since its metrics then cover
    the other classes only."""
    absent = [i for i in range(len(label_names)) if split.y is None or not (split.y == i).any()]
    if not absent:
        return None
    more = f" (nor {len(absent) - 1} more classes)" if len(absent) > 1 else ""
    head = f"the {name} split ({split.n_samples} samples of {split.source}) has no '{label_names[absent[0]]}'{more}"
    if dataset is None or dataset.groups is None:
        return f"{head}; its metrics cover the other classes only"
    n_groups = len(class_groups(dataset)[absent[0]])
    why = (
        "so train, validation and test need 3 groups of it"
        if n_groups < 3
        else "and no assignment of whole groups tried gave each split one (groups holding several classes?)"
    )
    return (
        f"{head}: that class has {n_groups} group(s) (videos, subjects or sessions), a group lies wholly in one split, "
        f"{why}; its metrics cover the other classes only (give --test, or more groups of it)"
    )


def kfold_splits(dataset: SequenceDataset, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of stratified k-fold CV, group-aware when groups exist."""
    check_stratifiable(dataset, parts=folds if dataset.groups is None else 1)
    index = np.arange(dataset.n_samples)
    if dataset.groups is not None:
        if len(np.unique(dataset.groups)) < folds:
            raise DataError(
                f"{dataset.source}: {len(np.unique(dataset.groups))} groups cannot make {folds} group-aware folds; use fewer folds"
            )
        if _every_class_smaller_than(dataset.labels, folds):  # as in holdout_split: groups kept whole, not stratified
            return list(GroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(index, groups=dataset.groups))
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(splitter.split(index, dataset.y, dataset.groups))
    return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(index, dataset.y))


@dataclass(frozen=True)
class SplitPlan:
    """Index arrays of one dataset's training, validation and test parts (test may be empty).

    Made once by `plan_splits` where a run starts and passed down as datasets, so the part that
    picks the best epoch is never cut a second time further down; each part keeps whole groups.
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def parts(self, dataset: Any) -> tuple[Any, Any, Any]:
        """`(train, validation, test)` subsets of `dataset` (anything with `.subset(index)`);
        test is None when the plan holds none out."""
        test = dataset.subset(self.test) if len(self.test) else None
        return dataset.subset(self.train), dataset.subset(self.validation), test


def plan_splits(dataset: Any, seed: int, val_fraction: float, test_fraction: float = 0.0) -> SplitPlan:
    """Hold out `test_fraction` for test first (none when 0: the caller has its own test set),
    then `val_fraction` of the rest for validation; stratified and group-aware, fixed by `seed`.
    Works on anything `holdout_split` takes (sequence and clip datasets)."""
    keep = np.arange(dataset.n_samples)
    test = np.empty(0, dtype=np.int64)
    if test_fraction > 0:
        keep, test = holdout_split(
            dataset, test_fraction, seed, min_keep=2
        )  # 2 left: one for train, one for validation
    train, validation = holdout_split(dataset.subset(keep), val_fraction, seed)
    return SplitPlan(train=keep[train], validation=keep[validation], test=test)
