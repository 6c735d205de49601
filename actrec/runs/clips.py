"""A whole clip training run into a RUN folder: the same files `actrec train` leaves for
sequences (model.actrec, metrics.json, history.csv, per_class.csv, confusion, report.md,
checkpoints/), built in RUN/partial and resumable the same way (`runs.life_cycle.build_in_partial`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from actrec.data.clips import ClipList
from actrec.data.splits import plan_splits
from actrec.evaluation.metrics import compute_metrics
from actrec.evaluation.report import write_run
from actrec.recognizers import VideoRecognizer, VideoTrainConfig
from actrec.runs.life_cycle import RunResult, build_in_partial


def train_clip_run(
    clips: ClipList,
    out: str | Path,
    config: VideoTrainConfig,
    test: ClipList | None = None,
    test_fraction: float = 0.2,
    progress: bool = False,
    on_bad_video: Callable[[str], None] | None = None,
    resume_from: str | Path | None = None,
) -> RunResult:
    """Fit on `clips`, evaluate on validation and test, save model and reports into `out`.

    Bad videos are decoded (and reported through `on_bad_video`, one line each) before any split,
    so the splits hold usable clips only. Without `test`, a stratified, group-aware
    `test_fraction` is held out first. The run is built in `out/partial` with a checkpoint per
    epoch and published only when finished; a stop by SIGINT / SIGTERM raises
    `TrainingInterrupted`, and `resume_from` (a RUN folder or .ckpt, see
    `runs.life_cycle.resume_checkpoint`) continues a stopped run or extends a finished one.
    """
    result = build_in_partial(
        out,
        resume_from,
        lambda partial, resume: _train_into(
            clips, partial, config, test, test_fraction, progress, on_bad_video, resume
        ),
    )
    assert result is not None  # clip runs train in one process
    return result


def _train_into(
    clips: ClipList,
    out: Path,
    config: VideoTrainConfig,
    test: ClipList | None,
    test_fraction: float,
    progress: bool,
    on_bad_video: Callable[[str], None] | None,
    resume_from: Path | None,
) -> RunResult:
    recognizer = VideoRecognizer(**asdict(config))
    clips, bad = recognizer.prepare(clips)
    if test is not None:
        test, more = recognizer.prepare(test)
        bad += more
    for line in bad:
        if on_bad_video:
            on_bad_video(line)
    plan = plan_splits(clips, config.seed, config.val_fraction, test_fraction if test is None else 0.0)
    train, validation, held_out = plan.parts(clips)
    test = held_out if test is None else test
    recognizer.fit(train, validation=validation, work_dir=out, progress=progress, resume_from=resume_from)
    val_metrics = compute_metrics(validation.y, recognizer.predict_proba(validation), recognizer.label_names)
    test_metrics = compute_metrics(test.labels, recognizer.predict_proba(test), recognizer.label_names)
    recognizer.save(out)
    run_config = recognizer.metadata()["config"] | {
        "data": clips.source,
        "test": test.source,
        "n_train": train.n_samples,
        "n_val": validation.n_samples,
        "n_test": test.n_samples,
        "bad_videos": bad,
        "init": recognizer.init_report or None,
        "notes": recognizer.notes,
    }
    write_run(out, recognizer.history, val_metrics, test_metrics, recognizer.label_names, run_config)
    return RunResult(
        val=val_metrics,
        test=test_metrics,
        processes=1,
        notes=recognizer.notes + ([recognizer.init_report] if recognizer.init_report else []),
    )
