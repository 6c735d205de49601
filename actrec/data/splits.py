"""Stratified, group-aware splits fixed by one seed.

Windows cut from one video must never sit on both sides of a split, or accuracy is inflated;
when groups exist every split here keeps each group whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, StratifiedGroupKFold, StratifiedKFold, train_test_split

from actrec.data.dataset import SequenceDataset
from actrec.errors import DataError


def no_groups_note(dataset: SequenceDataset) -> str | None:
    """Without groups, splits draw single samples: neighbouring windows of one video (near copies)
    then land in both train and test and the scores come out too high. Say so; None with groups."""
    if dataset.groups is not None:
        return None
    return (f"{dataset.source} has no groups (the video, subject or session of each sample), so windows of one "
            "recording may land in both train and test and inflate the scores; give groups (.npz 'groups', a group "
            "column in labels.csv, --groups FILE for a .npy)")


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


def holdout_split(dataset: SequenceDataset, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, holdout) with about `fraction` of samples held out, stratified by label.

    With groups, whole groups are held out (StratifiedGroupKFold picks the fold closest to the
    label distribution), so no group is on both sides.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"holdout fraction must be between 0 and 1, got {fraction}")
    check_stratifiable(dataset)
    index = np.arange(dataset.n_samples)
    if dataset.groups is not None:
        n_groups = len(np.unique(dataset.groups))
        n_splits = min(max(2, int(round(1.0 / fraction))), n_groups)
        if n_splits < 2:
            raise DataError(f"{dataset.source}: only one group ({dataset.groups[0]}); a group-aware split needs at least 2")
        if _every_class_smaller_than(dataset.y, n_splits):
            # StratifiedGroupKFold refuses this (many classes, few samples each): whole groups
            # are still held out, at random instead of stratified
            splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
            keep, hold = next(splitter.split(index, groups=dataset.groups))
            return np.sort(keep), np.sort(hold)
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        keep, hold = next(folds.split(index, dataset.y, dataset.groups))
        return keep, hold
    keep, hold = train_test_split(index, test_size=fraction, random_state=seed, stratify=dataset.y)
    return np.sort(keep), np.sort(hold)


def _every_class_smaller_than(y: np.ndarray, n_splits: int) -> bool:
    counts = np.bincount(y)
    return bool(counts[counts > 0].max() < n_splits)


def kfold_splits(dataset: SequenceDataset, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of stratified k-fold CV, group-aware when groups exist."""
    check_stratifiable(dataset, parts=folds if dataset.groups is None else 1)
    index = np.arange(dataset.n_samples)
    if dataset.groups is not None:
        if len(np.unique(dataset.groups)) < folds:
            raise DataError(f"{dataset.source}: {len(np.unique(dataset.groups))} groups cannot make {folds} group-aware folds; use fewer folds")
        if _every_class_smaller_than(dataset.y, folds):  # as in holdout_split: groups kept whole, not stratified
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
        keep, test = holdout_split(dataset, test_fraction, seed)
    train, validation = holdout_split(dataset.subset(keep), val_fraction, seed)
    return SplitPlan(train=keep[train], validation=keep[validation], test=test)
