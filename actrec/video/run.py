"""A whole clip training run into a RUN folder: the same files `actrec train` leaves for
sequences (model.actrec, metrics.json, history.csv, per_class.csv, confusion, report.md)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from actrec.data.splits import plan_splits
from actrec.evaluation.metrics import compute_metrics
from actrec.evaluation.report import write_run
from actrec.io.clips import ClipList
from actrec.run import RunResult, publish
from actrec.video.recognizer import VideoRecognizer, VideoTrainConfig


def train_clip_run(clips: ClipList, out: str | Path, config: VideoTrainConfig, test: ClipList | None = None, test_fraction: float = 0.2, progress: bool = False, on_bad_video: Callable[[str], None] | None = None) -> RunResult:
    """Fit on `clips`, evaluate on validation and test, save model and reports into `out`.

    Bad videos are decoded (and reported through `on_bad_video`, one line each) before any split,
    so the splits hold usable clips only. Without `test`, a stratified, group-aware
    `test_fraction` is held out first.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
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
        recognizer.fit(train, validation=validation, work_dir=staging, progress=progress)
        val_metrics = compute_metrics(validation.y, recognizer.predict_proba(validation), recognizer.label_names)
        test_metrics = compute_metrics(test.y, recognizer.predict_proba(test), recognizer.label_names)
        recognizer.save(staging)
        run_config = recognizer.metadata()["config"] | {
            "data": clips.source, "test": test.source, "n_train": train.n_samples, "n_val": validation.n_samples,
            "n_test": test.n_samples, "bad_videos": bad, "init": recognizer.init_report or None,
        }
        write_run(staging, recognizer.history, val_metrics, test_metrics, recognizer.label_names, run_config)
        publish(staging, out)
        return RunResult(val=val_metrics, test=test_metrics, processes=1, notes=[recognizer.init_report] if recognizer.init_report else [])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
