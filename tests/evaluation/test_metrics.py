import numpy as np
import pytest

from actrec.evaluation.metrics import compute_metrics, near_chance_note


def test_metrics_on_a_hand_computed_case():
    y = np.array([0, 0, 1, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    m = compute_metrics(y, proba, ["a", "b", "c"])
    assert m["top1"] == 0.75 and m["n"] == 4
    assert m["top5"] == 1.0  # 3 classes: the true one is always among the top 3
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.3, 0.7, 0.7])), rel=1e-6)


def test_a_class_absent_from_the_split_does_not_lower_macro_f1():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    m = compute_metrics(y, proba, ["a", "b", "never-here"])
    assert m["macro_f1"] == 1.0
    assert m["per_class"]["never-here"]["support"] == 0


def test_top5_counts_the_five_most_probable_classes():
    proba = np.array(
        [
            [0.15, 0.3, 0.2, 0.1, 0.05, 0.12, 0.08],  # true class 0 ranks third: a top-5 hit, a top-1 miss
            [0.3, 0.25, 0.2, 0.1, 0.08, 0.05, 0.02],  # true class 6 ranks last: a miss
        ]
    )
    m = compute_metrics(np.array([0, 6]), proba, list("abcdefg"))
    assert m["top1"] == 0.0 and m["top5"] == 0.5


def metrics_with(top1: float, support: list[int]) -> dict:
    return {"top1": top1, "per_class": {f"c{i}": {"support": n} for i, n in enumerate(support)}}


@pytest.mark.parametrize(
    "top1, support, near",
    [
        (0.30, [10, 10, 10], True),  # the seed user's 5-epoch run: 3 classes, chance 0.33
        (0.42, [10, 10, 10], True),  # within 15% of the way from 0.33 to 1
        (0.45, [10, 10, 10], False),
        (0.80, [80, 10, 10], True),  # always naming the common class scores 0.80 already
        (0.55, [50, 50], True),
        (0.60, [50, 50], False),
    ],
)
def test_a_near_chance_score_is_named_with_what_to_try(top1, support, near):
    note = near_chance_note(metrics_with(top1, support))
    assert (note is not None) == near
    if near:
        assert f"top-1 {top1:.2f} is near chance" in note and "--epochs" in note and "labels" in note


@pytest.mark.parametrize("n_classes, shows_top5", [(3, False), (5, False), (7, True)])
def test_the_run_report_shows_top5_only_with_more_than_five_classes(n_classes, shows_top5):
    import pandas as pd

    from actrec.evaluation.report import markdown_report

    names = [f"c{i}" for i in range(n_classes)]
    y = np.arange(n_classes)
    proba = np.full((n_classes, n_classes), 0.5 / (n_classes - 1)) + np.eye(n_classes) * (0.5 - 0.5 / (n_classes - 1))
    metrics = compute_metrics(y, proba, names)
    text = markdown_report(metrics, metrics, names, {"model": "gru"}, pd.DataFrame({"class": names}))
    header = text.splitlines()[2]
    assert ("top-5" in header) == shows_top5
    assert text.splitlines()[4].count("|") == header.count("|")  # each row has as many cells as the header
