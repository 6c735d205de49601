"""Clip models compared over seeds on one fixed split: the table `actrec compare` prints for
sequence data (mean ± std of top-1, top-5, macro-F1, log-loss), plus clips per second.

Reuses `actrec.experiments.compare` for specs, run keys, summaries and the written files; what
differs is the data (video files, decoded once into a shared frame cache) and the costs: training
and inference throughput in clips/s and one clip's single-thread latency instead of a window's.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from actrec.data.clip_sampling import split_options
from actrec.data.clips import ClipList
from actrec.data.splits import SplitPlan, plan_splits
from actrec.errors import ConfigError
from actrec.evaluation.latency import parameter_count
from actrec.evaluation.metrics import compute_metrics, headline
from actrec.experiments.compare import (
    CompareResult,
    ModelSpec,
    cached_run,
    run_key,
    summarize,
    write_outputs,
)
from actrec.recognizers.clip import VideoRecognizer


def clip_options(spec: ModelSpec, cache: str) -> dict[str, Any]:
    """A spec's Recognizer-style options as VideoRecognizer arguments: clip keys found among the
    model options (`tsm:{"width": 16, "size": 64}`) move to `clip`, the frame cache is shared."""
    options = dict(spec.options)
    clip, network = split_options(dict(options.pop("model_options", None) or {}))
    options["clip"] = dict(options.get("clip") or {}) | clip | {"cache": cache}
    options["model_options"] = network
    return options


def clips_fingerprint(clips: ClipList) -> str:
    """Hash of the files (path, size, mtime), labels and cuts: a changed video retrains."""
    digest = hashlib.blake2b(digest_size=16)
    for path in clips.paths:
        stat = path.stat()
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    digest.update(json.dumps([clips.label_names, None if clips.y is None else clips.y.tolist()]).encode())
    return digest.hexdigest()


def clip_latency_us(network: torch.nn.Module, frames: int, size: int, repeats: int = 10) -> float:
    """Median microseconds of one clip `[1, 3, frames, size, size]` through `network` on 1 thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    x = torch.randn(1, 3, frames, size, size, generator=torch.Generator().manual_seed(0))
    times = []
    try:
        with torch.inference_mode():
            for index in range(repeats + 2):
                start = time.perf_counter_ns()
                network(x)
                if index >= 2:
                    times.append(time.perf_counter_ns() - start)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times) / 1000.0)


def evaluate_clip_run(
    options: dict[str, Any], train: ClipList, validation: ClipList, test: ClipList, seed: int
) -> dict[str, Any]:
    """One seed of one spec: fitted on `train` (its epoch picked on `validation`), scored on `test`."""
    recognizer = VideoRecognizer(**(options | {"seed": seed}))
    start = time.perf_counter()
    recognizer.fit(train, validation=validation)
    train_time = time.perf_counter() - start
    start = time.perf_counter()
    proba = recognizer.predict_proba(test)
    predict_time = time.perf_counter() - start
    epochs = max(1, len(recognizer.history))
    assert recognizer.network is not None
    return headline(compute_metrics(test.labels, proba, recognizer.label_names)) | {
        "param_count": parameter_count(recognizer.network),
        "train_time_s": train_time,
        "train_clips_per_s": epochs * train.n_samples / train_time,
        "clips_per_s": test.n_samples / predict_time,
        "latency_us": clip_latency_us(recognizer.network, recognizer.clip_config.frames, recognizer.clip_config.size),
    }


def compare_clips(
    clips: ClipList,
    specs: Sequence[ModelSpec],
    out: str | Path,
    seeds: Sequence[int] = (0, 1, 2),
    split_seed: int = 0,
    test_fraction: float = 0.2,
    use_cache: bool = True,
    on_run: Callable[[str, str, bool], None] | None = None,
    on_bad_video: Callable[[str], None] | None = None,
) -> CompareResult:
    """Every spec trained once per seed on one stratified, group-aware split of `clips`: test and
    validation are cut once (`plan_splits`, by `split_seed`; one plan per distinct `val_fraction`)
    and passed down, so every run of a spec picks its epoch and is scored on the same clips."""
    if not specs:
        raise ConfigError("nothing to compare: give at least one --model")
    names = [spec.name for spec in specs]
    if len(set(names)) < len(names):
        raise ConfigError("two configurations share a name; give each a distinct name")
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="actrec-frames-") as frames:
        runs_options = [clip_options(spec, frames) for spec in specs]
        checkers = [VideoRecognizer(**options) for options in runs_options]
        for checker in checkers:
            _ = checker.config  # unknown or bad options fail now, before any video is read
        usable, bad = checkers[0].prepare(clips)
        for line in bad:
            if on_bad_video:
                on_bad_video(line)
        plans: dict[float, SplitPlan] = {}
        split = {"mode": "holdout", "test_fraction": test_fraction, "split_seed": split_seed}
        fingerprint = clips_fingerprint(usable)
        rows, fits = [], 0
        for spec, options, checker in zip(specs, runs_options, checkers):
            val_fraction = checker.config.val_fraction
            if val_fraction not in plans:
                plans[val_fraction] = plan_splits(usable, split_seed, val_fraction, test_fraction)
            train, validation, test = plans[val_fraction].parts(usable)
            keyed = options | {"clip": {k: v for k, v in options["clip"].items() if k != "cache"}}
            for seed in seeds:
                label = f"seed{seed}"
                path = (
                    out
                    / "cache"
                    / f"{run_key(fingerprint, keyed, split | {'run': label, 'val_fraction': val_fraction}, seed)}.json"
                )
                evaluate = lambda: evaluate_clip_run(options, train, validation, test, seed)  # noqa: B023 (cached_run calls it at once)
                record, cached = cached_run(path, use_cache, evaluate)
                fits += not cached
                if on_run:
                    on_run(spec.name, label, cached)
                rows.append({"config": spec.name, "run": label, "seed": seed} | record)
    runs = pd.DataFrame(rows)
    summary = summarize(runs, names)
    grouped = runs.groupby("config", sort=False)
    for column in ("clips_per_s", "train_clips_per_s"):
        summary[f"{column}_mean"] = summary["config"].map(grouped[column].mean())
        summary[f"{column}_std"] = summary["config"].map(grouped[column].std(ddof=1).fillna(0.0))
    n_classes = len(clips.label_names)
    write_outputs(out, runs, summary, specs, split, clips.source, n_classes)
    return CompareResult(runs, summary, fits, n_classes)
