"""Stratified, group-aware splits fixed by one seed.

Windows cut from one video must never sit on both sides of a split, or accuracy is inflated;
when groups exist every split here keeps each group whole.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
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
    searched, in order, for the first that holds out a group of every class with at least 2
    groups while leaving `min_keep` groups of every class in keep, or all the others (`min_keep`
    2 when validation is cut from keep next). When no fold of about `fraction` can
    (3 classes of 3 videos each cannot fit in a fifth of 9 videos), fewer, larger folds are
    searched: every class in every split comes before the asked size. When no assignment does,
    the one falling shortest is taken (`plan_splits` then repairs it).
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"holdout fraction must be between 0 and 1, got {fraction}")
    check_stratifiable(dataset, parts=2 if dataset.groups is None else 1)  # a whole group stays on one side
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


def _group_holdouts(
    dataset: SequenceDataset, index: np.ndarray, fraction: float, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Candidate (keep, holdout) pairs keeping groups whole: every StratifiedGroupKFold fold; or,
    when every class has fewer samples than folds (which it refuses), one GroupShuffleSplit."""
    if _every_class_smaller_than(dataset.labels, n_splits):
        return list(
            GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed).split(index, groups=dataset.groups)
        )
    with warnings.catch_warnings():  # "least populated class has only 4 members": fewer folds are tried next
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return list(splitter.split(index, dataset.y, dataset.groups))


def _every_class_smaller_than(y: np.ndarray, n_splits: int) -> bool:
    counts = np.bincount(y)
    return bool(counts[counts > 0].max() < n_splits)


def class_groups(dataset: Any) -> list[set]:
    """The set of groups holding samples of each class, by class index."""
    return [set(dataset.groups[dataset.y == label]) for label in range(dataset.n_classes)]


def _placement_shortfall(group_sets: list[set], keep: set, hold: set, min_keep: int) -> int:
    """How many class placements a split misses: a holdout without a class that has 2 groups or
    more, and a keep side with fewer than `min_keep` groups of a class, or than all but the one
    held out (a class of 2 videos then trains on one and is tested on the other)."""
    shortfall = 0
    for groups in group_sets:
        if not groups:
            continue
        shortfall += max(0, min(min_keep, max(1, len(groups) - 1)) - len(groups & keep))
        shortfall += int(len(groups) >= 2 and not groups & hold)
    return shortfall


def missing_class_note(name: str, split: Any, label_names: list[str]) -> str | None:
    """A note when `split`, a data set given separately (not cut by `plan_splits`), lacks
    classes: its metrics then cover the other classes only."""
    absent = [i for i in range(len(label_names)) if split.y is None or not (split.y == i).any()]
    if not absent:
        return None
    more = f" (nor {len(absent) - 1} more classes)" if len(absent) > 1 else ""
    return (
        f"the {name} split ({split.n_samples} samples of {split.source}) has no '{label_names[absent[0]]}'{more}; "
        "its metrics cover the other classes only"
    )


def split_notes(plan: SplitPlan, dataset: Any, label_names: list[str]) -> list[str]:
    """One line per class of `dataset` that `plan` could not put in every split it cut: how many
    groups (or samples) the class has, why that is too few, where it is kept and what that costs."""
    parts = {"train": plan.train, "validation": plan.validation} | ({"test": plan.test} if len(plan.test) else {})
    unit = "sample" if dataset.groups is None else "group"
    counts = (
        np.bincount(dataset.y, minlength=len(label_names))
        if dataset.groups is None
        else [len(groups) for groups in class_groups(dataset)]
    )
    notes = []
    for label, name in enumerate(label_names):
        kept = [part for part, index in parts.items() if (dataset.y[index] == label).any()]
        if not kept or len(kept) == len(parts):
            continue
        count = int(counts[label])
        if count < len(parts):
            why = f"and a {unit} lies wholly in one split: it cannot be in {_listed(list(parts))}"
        elif unit == "group":
            why = "but they also hold other classes, and no assignment of whole groups tried placed it in every split"
        else:
            why = "too few for the stratified cuts to give every split one"
        unscored = [part for part in ("validation", "test") if part in parts and part not in kept]
        costs: list[str] = ["the model never learns it"] if "train" not in kept else []
        costs += [f"the {_listed(unscored)} metrics cover the other classes only"] if unscored else []
        notes.append(
            f"class '{name}' has {count} {unit}{'s' if count != 1 else ''}"
            f"{' (videos, subjects or sessions)' if unit == 'group' else ''} {why}; it is kept in "
            f"{_listed(kept)}, and {_listed(costs)} (give more {unit}s of it)"
        )
    return notes


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def kfold_splits(dataset: SequenceDataset, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of stratified k-fold CV, group-aware when groups exist.

    With groups, StratifiedGroupKFold's folds for the seed (then for further seeds drawn from it)
    are taken when every class lands in every fold's test part that its group count allows (a
    class of g groups can be tested in min(g, folds) folds, and trained on in every fold when
    g >= 2); when none does, the closest is repaired by moving or swapping whole groups between
    folds (`_descend`). `fold_notes` says which class could still not be placed and why."""
    check_stratifiable(dataset, parts=folds if dataset.groups is None else 1)
    index = np.arange(dataset.n_samples)
    if dataset.groups is None:
        return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(index, dataset.y))
    names, group_of = np.unique(dataset.groups, return_inverse=True)
    if len(names) < folds:
        raise DataError(f"{dataset.source}: {len(names)} groups cannot make {folds} group-aware folds; use fewer folds")
    holds = np.zeros((len(names), dataset.n_classes), dtype=bool)
    holds[group_of, dataset.y] = True
    sizes = np.bincount(group_of, minlength=len(names))
    targets = np.full(folds, dataset.n_samples / folds)
    score = lambda place: _fold_score(place, holds, sizes, targets)
    missing = lambda place: _fold_missing(place, holds, folds)
    seeds = [seed, *np.random.default_rng(seed).integers(2**31 - 1, size=SEARCH_ATTEMPTS - 1).tolist()]
    best: tuple[tuple[int, float], np.ndarray] | None = None
    for attempt_seed in seeds:
        place = np.empty(len(names), dtype=np.int64)
        for fold, (_, test) in enumerate(_group_folds(dataset, index, folds, int(attempt_seed))):
            place[group_of[test]] = fold
        result = (score(place), place)
        if best is None or result[0] < best[0]:
            best = result
        if best[0][0] == 0:
            break
    assert best is not None
    if best[0][0] > 0:
        best = _descend(best[1], holds, score, missing, np.random.default_rng(seed))
    fold_of = best[1][group_of]
    return [(np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)) for fold in range(folds)]


def _group_folds(
    dataset: SequenceDataset, index: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One seed's group k-fold: StratifiedGroupKFold, or GroupKFold when every class has fewer
    samples than folds (which StratifiedGroupKFold refuses)."""
    if _every_class_smaller_than(dataset.labels, folds):
        return list(GroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(index, groups=dataset.groups))
    with warnings.catch_warnings():  # "least populated class has only 4 members": the repair handles it
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(splitter.split(index, dataset.y, dataset.groups))


def _fold_missing(place: np.ndarray, holds: np.ndarray, folds: int) -> np.ndarray:
    """(classes, folds) bool: a fold whose test part lacks a class that is in fewer folds than
    its group count allows (min(groups, folds))."""
    present = _present(place, holds, folds)
    allowed = np.minimum(holds.sum(axis=0), folds)
    return ~present & (present.sum(axis=1) < allowed)[:, None]


def _fold_score(place: np.ndarray, holds: np.ndarray, sizes: np.ndarray, targets: np.ndarray) -> tuple[int, float]:
    """(test placements missing + EMPTY_PART per empty fold, sum of |fold size - target|). A
    class of 2 groups or more spread over as many folds as it can be is also in every fold's
    train part, so missing test placements count both."""
    folds = len(targets)
    present = _present(place, holds, folds)
    allowed = np.minimum(holds.sum(axis=0), folds)
    loads = np.bincount(place, weights=sizes, minlength=folds)
    missing = int((allowed - present.sum(axis=1)).sum()) + EMPTY_PART * int((loads == 0).sum())
    return missing, float(np.abs(loads - targets).sum())


def fold_notes(splits: Sequence[tuple[np.ndarray, np.ndarray]], dataset: Any) -> list[str]:
    """One line per class that some folds of `splits` (from `kfold_splits`) cannot test or train
    on: how many groups (or samples) it has, why that is too few, and what it costs."""
    unit = "sample" if dataset.groups is None else "group"
    notes = []
    for label, name in enumerate(dataset.label_names):
        where = dataset.y == label
        if not where.any():
            continue
        count = int(where.sum()) if dataset.groups is None else len(set(dataset.groups[where]))
        untested = [number for number, (_, test) in enumerate(splits) if not where[test].any()]
        untrained = [number for number, (train, _) in enumerate(splits) if not where[train].any()]
        if not untested and not untrained:
            continue
        plural = "s" if count != 1 else ""
        if count < len(splits):
            why = f"fewer than the {len(splits)} folds, and a {unit} lies wholly in one fold"
        else:
            why = "but they also hold other classes, and no assignment of whole groups tried placed it in every fold"
        costs = []
        if untested:
            costs.append(
                f"{len(untested)} of the {len(splits)} folds test without it (their metrics cover the other classes only)"
            )
        if untrained:
            folds_named = f"fold{'s' if len(untrained) > 1 else ''} {_listed([str(n) for n in untrained])}"
            costs.append(f"{folds_named} never train{'s' if len(untrained) == 1 else ''} on it")
        notes.append(
            f"class '{name}' has {count} {unit}{plural}{' (videos, subjects or sessions)' if unit == 'group' else ''}, "
            f"{why}: {_listed(costs)} (give more {unit}s of it)"
        )
    return notes


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
    Works on anything `holdout_split` takes (sequence and clip datasets).

    The two cuts are searched one after the other, so with groups holding several classes
    (subjects who each perform some of the actions) the test cut can leave the validation cut no
    way to place every class; `_complete` then moves whole groups between the three parts."""
    check_stratifiable(dataset)
    keep = np.arange(dataset.n_samples)
    test = np.empty(0, dtype=np.int64)
    if test_fraction > 0:
        keep, test = holdout_split(
            dataset, test_fraction, seed, min_keep=2
        )  # 2 left: one for train, one for validation
    train, validation = holdout_split(dataset.subset(keep), val_fraction, seed)
    plan = SplitPlan(train=keep[train], validation=keep[validation], test=test)
    if dataset.groups is None:
        return plan
    shares = np.array([(1 - val_fraction) * (1 - test_fraction), val_fraction * (1 - test_fraction), test_fraction])
    return _complete(plan, dataset, shares, seed)


# a class missing from train cannot be learnt, from test it goes unscored, from validation only
# the choice of epoch and decision rules overlooks it
MISSING_WEIGHT = np.array([4, 1, 2])
EMPTY_PART = 100  # a part asked for must keep some group
REPAIR_STEPS = 200  # at most this many group moves; each one lowers the shortfall or the size error
RESTARTS = 20  # seeded random assignments descended from when the plan's own descent gets stuck


def _complete(plan: SplitPlan, dataset: Any, shares: np.ndarray, seed: int) -> SplitPlan:
    """`plan` with whole groups moved or swapped between train (0), validation (1) and test (2)
    until every class is where its group count allows (`_wanted`), or no move or swap helps.

    Each step takes the move that lowers most the weighted count of missing placements, then
    the distance of the part sizes from `shares`; ties go by an order drawn from `seed`. When
    that sticks short, descents from a few random assignments drawn from `seed` are tried too.
    A plan that already places every class is returned as it is."""
    names, group_of = np.unique(dataset.groups, return_inverse=True)
    holds = np.zeros((len(names), dataset.n_classes), dtype=bool)
    holds[group_of, dataset.y] = True
    sizes = np.bincount(group_of, minlength=len(names))
    place = np.empty(len(names), dtype=np.int64)
    for part, index in enumerate((plan.train, plan.validation, plan.test)):
        place[group_of[index]] = part
    wanted = _wanted(holds.sum(axis=0), with_test=len(plan.test) > 0)
    targets = shares * dataset.n_samples
    rng = np.random.default_rng(seed)
    score = lambda place: _placement_score(place, holds, sizes, wanted, targets)
    missing = lambda place: wanted & ~_present(place, holds, 3)
    best = _descend(place, holds, score, missing, rng)
    for _ in range(RESTARTS):  # stuck where every step trades one missing class for another
        if best[0][0] == 0:
            break
        start = rng.choice(3, size=len(names), p=shares / shares.sum())
        best = min(best, _descend(start, holds, score, missing, rng), key=lambda result: result[0])
    place = best[1]
    index = place[group_of]
    return SplitPlan(*(np.flatnonzero(index == part) for part in range(3)))


def _descend(
    place: np.ndarray,
    holds: np.ndarray,
    score: Callable[[np.ndarray], tuple[int, float]],
    missing: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> tuple[tuple[int, float], np.ndarray]:
    """(score, assignment) after taking the best step from `place` (group -> part) while one
    lowers `score`; the steps fix the (class, part) pairs `missing` gives."""
    current = score(place)
    for _ in range(REPAIR_STEPS):
        if current[0] == 0:
            break
        step = min(
            ((score(candidate), candidate) for candidate in _moves(place, holds, missing(place), rng)),
            key=lambda result: result[0],
            default=None,
        )
        if step is None or step[0] >= current:
            break
        current, place = step
    return current, place


def _wanted(groups_per_class: np.ndarray, with_test: bool) -> np.ndarray:
    """(classes, 3) bool: the parts a class can be in, given its groups: train first, then test,
    then validation (or validation second when there is no test part)."""
    wanted = np.zeros((len(groups_per_class), 3), dtype=bool)
    wanted[:, 0] = groups_per_class >= 1
    if with_test:
        wanted[:, 2] = groups_per_class >= 2
        wanted[:, 1] = groups_per_class >= 3
    else:
        wanted[:, 1] = groups_per_class >= 2
    return wanted


def _present(place: np.ndarray, holds: np.ndarray, parts: int) -> np.ndarray:
    """(classes, parts) bool: which classes each part's groups hold."""
    return np.stack([holds[place == part].any(axis=0) for part in range(parts)], axis=1)


def _placement_score(
    place: np.ndarray, holds: np.ndarray, sizes: np.ndarray, wanted: np.ndarray, targets: np.ndarray
) -> tuple[int, float]:
    """(weighted missing placements, sum of |part size - target|) of a group -> part assignment."""
    present = _present(place, holds, 3)
    loads = np.bincount(place, weights=sizes, minlength=3)
    empty = int(((loads == 0) & (targets > 0)).sum())
    missing = int(((wanted & ~present) @ MISSING_WEIGHT).sum()) + EMPTY_PART * empty
    return missing, float(np.abs(loads - targets).sum())


def _moves(place: np.ndarray, holds: np.ndarray, missing: np.ndarray, rng: np.random.Generator):
    """Assignments one step from `place`, in a seeded order: for each missing (class, part) of
    `missing` (classes, parts) bool, a group holding the class (`holds` (groups, classes)) moved
    into the part, or swapped with a group already there."""
    steps = set()
    for label, part in zip(*np.nonzero(missing)):
        for group in np.flatnonzero(holds[:, label] & (place != part)):
            steps.add((int(group), int(part), -1))
            steps.update((int(group), int(part), int(other)) for other in np.flatnonzero(place == part))
    ordered = sorted(steps)
    for group, part, other in (ordered[k] for k in rng.permutation(len(ordered))):
        candidate = place.copy()
        if other >= 0:
            candidate[other] = place[group]
        candidate[group] = part
        yield candidate
