"""The whole audit of a dataset (and its test set): every data check, the label-noise search, and
the findings they add up to."""

from __future__ import annotations

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.errors import DataError
from actrec.experiments.audit.data_checks import (
    channel_health,
    channel_values,
    class_counts,
    duplicates,
    group_leakage,
    length_summary,
    missing_samples,
)
from actrec.experiments.audit.label_noise import label_issues
from actrec.experiments.audit.report import findings
from actrec.experiments.audit.result import AuditResult


def audit_dataset(
    data: SequenceDataset,
    test: SequenceDataset | None = None,
    *,
    noise_model: str = "ensemble",
    folds: int = 5,
    seed: int = 0,
    near_rms: float = 0.1,
) -> AuditResult:
    """Every check on `data` (and `test`, for cross-split checks); a JSON-able dict.

    Keys: summary, classes, lengths, channels, missing, duplicates, leakage (None without test
    groups), label_issues, findings (one-line sentences, the most serious first).
    """
    if data.y is None:
        raise DataError(f"{data.source}: has no labels; the audit needs labelled data")
    if test is not None and channel_values(test).shape[2] != channel_values(data).shape[2]:
        raise DataError(
            f"{test.source}: has {channel_values(test).shape[2]} channels but {data.source} has "
            f"{channel_values(data).shape[2]}; audit two files of the same layout"
        )
    result: AuditResult = {
        "summary": {
            "source": data.source,
            "test_source": None if test is None else test.source,
            "samples": data.n_samples,
            "test_samples": None if test is None else test.n_samples,
            "steps": data.n_steps,
            "channels": int(channel_values(data).shape[2]),
            "classes": data.n_classes,
            "groups": None if data.groups is None else int(len(np.unique(data.groups))),
        },
        "classes": class_counts(data, test),
        "lengths": length_summary(data),
        "channels": channel_health(data),
        "missing": missing_samples(data),
        "duplicates": duplicates(data, test, near_rms),
        "leakage": group_leakage(data, test),
        "label_issues": label_issues(data, noise_model, folds, seed),
        "findings": [],
    }
    result["findings"] = findings(result)
    return result
