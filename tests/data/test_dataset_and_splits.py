import numpy as np
import pytest

from actrec.data.dataset import SequenceDataset
from actrec.data.splits import holdout_split, kfold_splits
from actrec.errors import DataError
from tests.helpers.waves import make_waves


def test_holdout_never_puts_one_group_on_both_sides():
    data = make_waves(n=120)
    keep, hold = holdout_split(data, 0.25, seed=3)
    assert set(data.groups[keep]).isdisjoint(data.groups[hold])
    assert len(keep) + len(hold) == data.n_samples
    assert set(data.y[hold]) == {0, 1, 2}


def test_holdout_is_fixed_by_seed_and_changes_with_it():
    data = make_waves(n=120)
    first = holdout_split(data, 0.25, seed=1)[1]
    assert np.array_equal(first, holdout_split(data, 0.25, seed=1)[1])
    assert not np.array_equal(first, holdout_split(data, 0.25, seed=2)[1])


def test_kfold_groups_stay_whole():
    data = make_waves(n=120)
    for train, test in kfold_splits(data, 4, seed=0):
        assert set(data.groups[train]).isdisjoint(data.groups[test])


def many_classes_few_samples(n_classes: int = 40, per_class: int = 3, n_groups: int = 12) -> SequenceDataset:
    """Like 61 exercises with a few recordings each: every class is smaller than the folds."""
    rng = np.random.default_rng(0)
    n = n_classes * per_class
    return SequenceDataset(
        X=rng.normal(size=(n, 10, 2)).astype(np.float32),
        lengths=np.full(n, 10),
        y=np.arange(n) % n_classes,
        label_names=[f"c{i}" for i in range(n_classes)],
        groups=np.array([f"g{i % n_groups}" for i in range(n)], dtype=object),
    )


def test_holdout_with_every_class_smaller_than_the_folds_still_keeps_groups_whole():
    data = many_classes_few_samples()
    keep, hold = holdout_split(data, 0.2, seed=0)  # StratifiedGroupKFold raises a ValueError here
    assert len(hold) and set(data.groups[keep]).isdisjoint(data.groups[hold])
    assert np.array_equal(hold, holdout_split(data, 0.2, seed=0)[1]) and not np.array_equal(
        hold, holdout_split(data, 0.2, seed=1)[1]
    )


def test_kfold_with_every_class_smaller_than_the_folds_keeps_groups_whole_and_refuses_too_few_groups():
    data = many_classes_few_samples()
    folds = kfold_splits(data, 4, seed=0)
    assert len(folds) == 4 and sorted(np.concatenate([test for _, test in folds]).tolist()) == list(
        range(data.n_samples)
    )
    for train, test in folds:
        assert set(data.groups[train]).isdisjoint(data.groups[test])
    with pytest.raises(DataError, match="12 groups cannot make 20 group-aware folds"):
        kfold_splits(data, 20, seed=0)


def test_class_with_one_sample_is_refused_by_name():
    data = make_waves(n=30)
    y = data.y.copy()
    y[0] = 3
    lonely = SequenceDataset(
        X=data.X, lengths=data.lengths, y=y, label_names=["a", "b", "c", "rare"], source="waves.npz"
    )
    with pytest.raises(DataError, match="class 'rare' has 1 sample"):
        holdout_split(lonely, 0.2, seed=0)


def test_nan_is_reported_with_sample_step_and_feature():
    data = make_waves(n=12)
    data.X[5, 7, 2] = np.nan
    data.feature_names = ["ax", "ay", "az", "gx"]
    with pytest.raises(DataError, match="sample s5 step 7 az is nan"):
        data.check_finite()


def test_npz_round_trip_keeps_every_field(tmp_path):
    data = make_waves(n=12, ragged=True)
    data.meta = {"start_frame": np.arange(12)}
    data.to_npz(str(tmp_path / "d.npz"))
    from actrec.data.loading import load_dataset

    back = load_dataset(tmp_path / "d.npz")
    assert np.array_equal(back.X, data.X) and np.array_equal(back.lengths, data.lengths)
    assert back.label_names == data.label_names and list(back.groups) == list(data.groups)
    assert list(back.meta["start_frame"]) == list(range(12))


def test_one_split_plan_cuts_test_then_validation_keeping_groups_whole():
    from actrec.data.splits import plan_splits

    data = make_waves(n=120, seed=3)
    data.groups = np.repeat(np.arange(24), 5)
    plan = plan_splits(data, seed=2, val_fraction=0.2, test_fraction=0.25)
    parts = [plan.train, plan.validation, plan.test]
    assert sorted(np.concatenate(parts).tolist()) == list(range(120))
    for a in range(3):
        for b in range(a + 1, 3):
            assert set(data.groups[parts[a]]).isdisjoint(data.groups[parts[b]])
    again = plan_splits(data, seed=2, val_fraction=0.2, test_fraction=0.25)
    assert all(np.array_equal(x, y) for x, y in zip(parts, [again.train, again.validation, again.test]))
    train, validation, test = plan_splits(data, seed=2, val_fraction=0.2).parts(data)
    assert test is None and train.n_samples + validation.n_samples == 120
