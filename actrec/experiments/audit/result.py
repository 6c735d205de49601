"""What an audit returns, typed: `AuditResult` is the `audit.json` document, so its parts are
TypedDicts (plain JSON values a type checker can follow) rather than classes to convert."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

Sample = dict[str, Any]
"""One sample as a person finds it: id, group, label, span, and the start*/end* values its meta holds
(their names vary with the data, so the row stays an open dict)."""


class Summary(TypedDict):
    source: str
    test_source: str | None
    samples: int
    test_samples: int | None
    steps: int
    channels: int
    classes: int
    groups: int | None


class ClassCounts(TypedDict):
    counts: dict[str, int]
    imbalance_ratio: float
    empty_classes: list[str]
    test_counts: NotRequired[dict[str, int]]
    test_only_classes: NotRequired[list[str]]


class Histogram(TypedDict):
    edges: list[float]
    counts: list[int]


class Lengths(TypedDict):
    min: int
    p5: float
    median: float
    p95: float
    max: int
    padded_samples: int
    histogram: Histogram


class ChannelRow(TypedDict):
    channel: str
    nan_fraction: float
    all_nan_samples: int
    constant: bool


class Missing(TypedDict):
    empty_count: int
    mostly_missing_count: int
    empty: list[Sample]


class Pair(TypedDict):
    a: Sample
    b: Sample
    rms_distance: NotRequired[float]
    labels_differ: NotRequired[bool]


class Duplicates(TypedDict):
    scope: str
    near_rms_threshold: float
    exact_count: int
    near_count: int
    exact: list[Pair]
    near: list[Pair]


class SharedGroup(TypedDict):
    group: str
    train_samples: int
    test_samples: int


class Leakage(TypedDict):
    shared_count: int
    test_groups: int
    shared: list[SharedGroup]


class LabelIssues(TypedDict):
    model: str
    folds: int
    out_of_fold_accuracy: float
    fold_notes: list[str]
    count: int
    indices: list[int]
    candidates: list[Sample]


class AuditResult(TypedDict):
    summary: Summary
    classes: ClassCounts
    lengths: Lengths
    channels: list[ChannelRow]
    missing: Missing
    duplicates: Duplicates
    leakage: Leakage | None
    label_issues: LabelIssues
    findings: list[str]
