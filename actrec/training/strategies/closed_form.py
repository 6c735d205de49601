"""Closed-form fit of random-kernel models (`training/kernels.py`): no epochs. Its history is the
penalty search of the ridge head: one row per penalty tried, with the validation score where the
fit reports it (`fitted_summary["penalty_search"]`), else the chosen penalty alone."""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np
import pandas as pd

from actrec.features.pipeline import FeaturePipeline
from actrec.training.averaging import validation_scores
from actrec.training.strategies import FitOutcome, FitTask, Host, refuse_resume


class ClosedFormKernels:
    name = "closed_form"

    def fit(self, host: Host, task: FitTask) -> FitOutcome:
        """The pipeline is fitted on the training split, then featurises a batch at a time as the
        fit reads it (`training/feature_store.py`), so neither the featurised split nor its kernel
        features are ever held whole."""
        import lightning as L

        from actrec.models.rocket import RocketNet
        from actrec.training.kernels import fit_kernel_model

        refuse_resume(
            task.resume_from,
            f"model '{host.config.model}' is fitted in closed form in seconds and keeps no checkpoints; train it without --resume",
        )
        train, validation = task.train, task.validation
        start = time.perf_counter()
        host.pipeline = pipeline = FeaturePipeline(host.default_steps(task.dataset)).fit(train.X, train.lengths)
        host.n_features = int(pipeline.transform(train.X[:1], train.lengths[:1]).shape[-1])
        L.seed_everything(host.config.seed, workers=True, verbose=False)
        network = cast(RocketNet, host.build_network())
        validation_proba = fit_kernel_model(
            network,
            host.batches(train),
            train.labels,
            host.batches(validation),
            validation.labels,
            len(host.label_names),
            host.config.class_weight,
            host.config.seed,
            groups=train.groups,
        )
        network.eval()
        summary = dict(getattr(network, "fitted_summary", None) or {})
        scores = (
            validation_scores(validation.labels, validation_proba, len(host.label_names))
            if validation.n_samples
            else {}
        )
        history = penalty_history(summary, scores, time.perf_counter() - start)
        return FitOutcome(network, history, validation_proba=validation_proba)


def penalty_history(summary: dict[str, Any], scores: dict[str, float], seconds: float) -> pd.DataFrame:
    """The closed-form fit's history: a row per penalty searched (`summary["penalty_search"]`:
    `[(penalty, validation error), ...]`, when the head reports its search) with `chosen` marking
    the one kept, else one row for the chosen penalty (the logistic head, above the ridge head's
    size, has none). The chosen row carries the validation scores of the model fitted on the
    training split, its temperature and the fit's seconds."""
    chosen = summary.get("alpha")
    search = summary.get("penalty_search") or ([(chosen, float("nan"))] if chosen is not None else [])
    rows: list[dict[str, Any]] = [
        {
            "penalty": float(penalty),
            "search_error": float(error),
            # matched within rounding: the summary may hold the penalty as another float type
            "chosen": chosen is not None and bool(np.isclose(penalty, chosen, rtol=1e-9, atol=0.0)),
        }
        for penalty, error in search
    ]
    if not any(row["chosen"] for row in rows):
        rows.append({"chosen": True} if chosen is None else {"penalty": float(chosen), "chosen": True})
    final = next(row for row in rows if row["chosen"])
    final |= {"head": summary.get("head", ""), "temperature": summary.get("temperature"), "seconds": seconds}
    final |= scores
    return pd.DataFrame(rows)
