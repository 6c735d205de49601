"""A whole sequence training run as one call: data in, RUN folder with model and reports out.

`actrec train`, `actrec demo` and comparisons use this, so all runs leave the same files.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.data.labels import encode_labels
from actrec.data.splits import missing_class_note, plan_splits, split_notes
from actrec.errors import ActrecError
from actrec.evaluation.metrics import compute_metrics
from actrec.evaluation.report import write_run
from actrec.recognizers import Recognizer, TrainConfig
from actrec.runs.life_cycle import RunResult, build_in_partial
from actrec.stream.calibrate import rules_from_windows


def train_run(
    data: SequenceDataset,
    out: str | Path,
    config: TrainConfig,
    test: SequenceDataset | None = None,
    test_fraction: float = 0.2,
    progress: bool = False,
    resume_from: str | Path | None = None,
) -> RunResult | None:
    """Fit on `data`, evaluate on validation and test, save model and reports into `out`.

    Without `test`, a stratified, group-aware `test_fraction` of `data` is held out first (before
    validation is carved), so no group is in two splits. Returns the metrics, or None on the
    non-zero ranks of a distributed run (rank 0 writes everything).

    The run is built in `out/partial` and published into `out` only when it has finished, so a
    failed or stopped run never replaces an earlier result. Its checkpoints (one per epoch) stay
    in `out/partial/checkpoints` when training is stopped (SIGINT, SIGTERM, SIGKILL, a crash);
    `resume_from` (see `resume_checkpoint`) continues from them, or extends a finished run.
    An `ActrecError` (bad input or options) removes a new run's partial folder.
    """
    return build_in_partial(
        out,
        resume_from,
        lambda partial, resume: _train_into(data, partial, config, test, test_fraction, progress, resume),
    )


def _train_into(
    data: SequenceDataset,
    out: Path,
    config: TrainConfig,
    test: SequenceDataset | None,
    test_fraction: float,
    progress: bool,
    resume_from: Path | None,
) -> RunResult | None:
    recognizer = Recognizer(**asdict(config))
    recognizer.check_data(data)  # at the door: before any split or fitting
    plan = plan_splits(data, config.seed, config.val_fraction, test_fraction if test is None else 0.0)
    train, validation, held_out = plan.parts(data)
    test = held_out if test is None else test
    recognizer.fit(train, validation=validation, work_dir=out, progress=progress, resume_from=resume_from)
    if not recognizer.is_main_process:
        return None
    test = _with_model_labels(test, recognizer)
    # a kernel model's head is refitted on train + validation; its validation probabilities
    # come from the model fitted before that, which never saw them
    val_proba = (
        recognizer.validation_proba_
        if recognizer.validation_proba_ is not None
        else recognizer.predict_proba(validation)
    )
    val_metrics = compute_metrics(validation.y, val_proba, recognizer.label_names)
    test_metrics = compute_metrics(test.labels, recognizer.predict_proba(test), recognizer.label_names)
    segments, segments_note = _fit_decision_rules(recognizer, validation, test)
    recognizer.save(out)
    notes = recognizer.notes + split_notes(plan, data, data.label_names)
    if held_out is None and (note := missing_class_note("test", test, recognizer.label_names)):
        notes.append(note)
    notes += [segments_note] if segments_note else []
    run_config = asdict(recognizer.config) | {
        "data": data.source,
        "test": test.source,
        "n_train": train.n_samples,
        "n_val": validation.n_samples,
        "n_test": test.n_samples,
        "notes": notes,
    }
    write_run(
        out,
        recognizer.history,
        val_metrics,
        test_metrics,
        recognizer.label_names,
        run_config,
        recognizer.cut_by_time_budget_,
        segments,
    )
    return RunResult(val=val_metrics, test=test_metrics, processes=recognizer.world_size, notes=notes)


def _fit_decision_rules(
    recognizer: Recognizer, validation: SequenceDataset, test: SequenceDataset
) -> tuple[dict[str, Any] | None, str | None]:
    """Streaming decision rules fitted on the recordings the validation windows were cut from
    (`stream.calibrate.rules_from_windows`), and a note saying how they score; (None, None) when
    the windows have no order (groups and meta start_frame) to rebuild recordings from."""
    try:
        segments = rules_from_windows(recognizer, validation, test)
    except ActrecError as error:  # windows that do not rebuild recordings, a model that cannot stream them
        return None, f"decision rules not fitted: {error}"
    if segments is None:
        return None, None
    val = segments["val"]
    saved = "saved in the model" if segments["rules"] else "not better than the default rules, which stay"
    line = (
        f"decision rules fitted on {val['sessions']} validation sessions ({val['frames']} frames): segment F1 "
        f"{val['segment_f1']:.3f} (default rules {val['segment_f1_default_rules']:.3f}), {saved}"
    )
    if "test" in segments:
        line += f"; on test {segments['test']['segment_f1']:.3f} (default rules {segments['test']['segment_f1_default_rules']:.3f})"
    return segments, line


def _with_model_labels(dataset: SequenceDataset, recognizer: Recognizer) -> SequenceDataset:
    """A separately loaded test set with its labels re-indexed into the model's label order."""
    if dataset.label_names == recognizer.label_names:
        return dataset
    y, names = encode_labels(dataset.labels_as_names(), dataset.source, np.asarray(dataset.ids), recognizer.label_names)
    return replace(dataset, y=y, label_names=names)
