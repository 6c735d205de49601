"""A whole training run as one call: data in, RUN folder with model and reports out.

`actrec train`, `actrec demo` and comparisons use this, so all runs leave the same files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from actrec.config import renamed_options
from actrec.data.dataset import SequenceDataset
from actrec.data.labels import encode_labels
from actrec.data.splits import missing_class_note, plan_splits, split_notes
from actrec.errors import ActrecError, ConfigError, TrainingInterrupted
from actrec.evaluation.metrics import compute_metrics
from actrec.evaluation.report import write_run
from actrec.io.folder_lock import exclusive_folder
from actrec.io.yaml_file import read_yaml
from actrec.recognizer import Recognizer, TrainConfig
from actrec.stream.calibrate import rules_from_windows
from actrec.training import BEST, LAST, is_launching_process

PARTIAL = "partial"  # RUN/partial: the run being built; its checkpoints outlive a crash
ResultT = TypeVar("ResultT")


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML mapping of `TrainConfig` fields (what `actrec sweep` writes as best_config.yaml)."""
    values = read_yaml(path, "config file") or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of training options, e.g. 'model: gru'")
    values = renamed_options(values)
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known, key=str)
    if unknown:
        raise ConfigError(f"{path}: unknown option '{unknown[0]}'; options are: {', '.join(sorted(known))}")
    return values


@dataclass
class RunResult:
    """Metrics of a finished run (from `compute_metrics`), how many processes trained it, and
    warnings about the splits a person should read."""

    val: dict[str, Any]
    test: dict[str, Any]
    processes: int
    notes: list[str]

    def splits(self) -> dict[str, dict[str, Any]]:
        return {"val": self.val, "test": self.test}


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


def build_in_partial(
    out: str | Path, resume_from: str | Path | None, train_into: Callable[[Path, Path | None], ResultT | None]
) -> ResultT | None:
    """Run `train_into(partial folder, checkpoint to resume or None)` in `out/partial` and publish
    what it leaves there into `out` if it returns a result (None: a DDP worker, nothing to
    publish); sequence and clip runs share this life cycle.

    `train_into` writes its checkpoints to `partial/checkpoints`. When it raises, the partial
    folder stays if it holds a checkpoint to resume (a stop, a crash), and is removed after an
    `ActrecError` (bad input or options) of a new run, so a failed run never replaces anything.
    The folder is locked meanwhile (`io/folder_lock.py`): a second run on it is refused in one line.
    """
    out = Path(out)
    partial = out / PARTIAL
    resume = resume_checkpoint(resume_from) if resume_from is not None else None
    if not is_launching_process():  # a DDP worker: rank 0 owns the folder
        return train_into(partial, resume)
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_folder(out):  # a second run on this --out is refused, naming this one
        continuing = resume is not None and resume.resolve().parent == (partial / "checkpoints").resolve()
        _prepare_partial(partial, resume)
        try:
            result = train_into(partial, resume)
        except KeyboardInterrupt:  # Ctrl-C outside the fit (data, evaluation, report): same one line
            checkpoint = partial / "checkpoints" / LAST
            resumable = checkpoint.is_file()
            if not resumable:
                shutil.rmtree(partial, ignore_errors=True)
            how = (
                f"after its last epoch, before the run was published (checkpoint {checkpoint})"
                if resumable
                else "before its first epoch ended"
            )
            raise TrainingInterrupted(
                f"training stopped by SIGINT {how}", "SIGINT", str(checkpoint) if resumable else None
            ) from None
        except BaseException as error:
            resumable = (partial / "checkpoints" / LAST).is_file()
            # bad input or options: nothing worth resuming, unless the checkpoints were there before
            clean_failure = (
                isinstance(error, ActrecError) and not isinstance(error, TrainingInterrupted) and not continuing
            )
            if clean_failure or not resumable:
                shutil.rmtree(partial, ignore_errors=True)
            raise
        if result is not None:
            publish(partial, out)
            shutil.rmtree(partial)
        return result


def resume_checkpoint(path: str | Path) -> Path:
    """What `--resume` names: a .ckpt file, or a RUN folder: its stopped run
    (RUN/partial/checkpoints/last.ckpt) if there is one, else its finished run's last epoch
    (RUN/checkpoints/last.ckpt), which further epochs extend."""
    path = Path(path)
    if path.is_file():
        return path
    for candidate in (path / PARTIAL / "checkpoints" / LAST, path / "checkpoints" / LAST, path / LAST):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"{path}: nothing to resume (no {PARTIAL}/checkpoints/{LAST} nor checkpoints/{LAST}); give the RUN folder of a "
        "stopped or finished neural run, or one of its .ckpt files"
    )


def _prepare_partial(partial: Path, resume: Path | None) -> None:
    """Empty `partial` for this run, keeping the checkpoints a resume continues; resuming from
    another folder, that folder's best epoch is copied in (later epochs must beat it)."""
    checkpoints = partial / "checkpoints"
    if resume is not None and resume.resolve().parent == checkpoints.resolve():
        for entry in partial.iterdir():
            if entry.name == "checkpoints":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for stray in checkpoints.glob(".*.tmp"):  # a write cut short by a kill
            stray.unlink()
        return
    source = None if resume is None else resume.resolve().parent
    if source is not None and (source == partial.resolve() or partial.resolve() in source.parents):
        raise ConfigError(f"{resume}: resume from {checkpoints / LAST} or give the RUN folder")
    shutil.rmtree(partial, ignore_errors=True)
    checkpoints.mkdir(parents=True)
    if source is not None and (source / BEST).is_file():
        shutil.copy2(source / BEST, checkpoints / BEST)


def publish(staging: Path, out: Path) -> None:
    """Move a finished run's files over the old ones; until this point the old run is untouched."""
    for entry in staging.iterdir():
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)


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
