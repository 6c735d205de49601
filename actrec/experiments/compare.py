"""Several model configurations on the same data, judged by more than one lucky run.

`compare(data, configs, seeds=[0, 1, 2])` trains every configuration once per seed on one fixed,
stratified, group-aware split plan (`data.splits.plan_splits`: test held out, validation cut from
the rest, both once, and passed down to the Recognizer as datasets, as `run.py` does);
`compare(data, configs, folds=5)` runs k-fold CV instead (StratifiedGroupKFold when the data has
groups), each fold's validation cut once from its training part. Each run is scored on its
held-out part (top-1, top-5, macro-F1, log-loss), timed, and its network's single-window CPU
latency measured. Runs are cached in `out/cache/<key>.json`, the key hashing the data's content,
the configuration, the seed or fold, the split and the actrec version, so a re-run only trains
what changed.

A configuration is a mapping of `Recognizer` keyword arguments (the format of `actrec train
--config` and of sweep's best_config.yaml) plus an optional `name`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from actrec import __version__
from actrec.data.dataset import SequenceDataset
from actrec.data.splits import SplitPlan, fold_notes, kfold_splits, plan_splits
from actrec.errors import ConfigError
from actrec.evaluation.latency import parameter_count, window_latency_us
from actrec.evaluation.metrics import compute_metrics, headline
from actrec.evaluation.tables import display_table, markdown_table
from actrec.io.atomic import write_text_atomic
from actrec.io.yaml_file import read_yaml
from actrec.recognizers import Recognizer

METRICS = ("top1", "top5", "macro_f1", "log_loss")
COSTS = ("param_count", "train_time_s", "latency_us")


class Fitted(Protocol):
    """What a fit function returns: a fitted `Recognizer` or anything with these members."""

    network: Any
    window_length: int
    n_features: int

    def predict_proba(self, X: Any) -> np.ndarray: ...


# fit(config, train, seed, validation): the validation part of the run's SplitPlan picks the best epoch
FitFunction = Callable[[dict[str, Any], SequenceDataset, int, SequenceDataset], Fitted]


def fit_recognizer(
    config: dict[str, Any], train: SequenceDataset, seed: int, validation: SequenceDataset | None = None
) -> Fitted:
    """The default fit function: `Recognizer(**config, seed=seed).fit(train, validation=validation)`."""
    return Recognizer(**(config | {"seed": seed})).fit(train, validation=validation)


@dataclass
class ModelSpec:
    """One configuration to compare: a display name and Recognizer keyword arguments."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


def spec_from_option(text: str, defaults: dict[str, Any] | None = None) -> ModelSpec:
    """`NAME` or `NAME:{json model options}` (the `--model` flag) -> ModelSpec."""
    model, _, raw = text.partition(":")
    model = model.strip()
    model_options: dict[str, Any] = {}
    if raw.strip():
        try:
            model_options = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"--model '{text}': options after ':' must be JSON ({error.msg}), e.g. gru:{{\"hidden_sizes\": [64]}}"
            ) from None
        if not isinstance(model_options, dict):
            raise ConfigError(f"--model '{text}': options after ':' must be a JSON object")
    name = model if not model_options else f"{model} {json.dumps(model_options, separators=(',', ':'))}"
    return ModelSpec(name, dict(defaults or {}) | {"model": model, "model_options": model_options})


def load_specs(path: str | Path, defaults: dict[str, Any] | None = None) -> list[ModelSpec]:
    """Configurations from YAML: a list of mappings (each with optional `name`), a mapping of
    name -> mapping, or `{models: <either>}`. `defaults` fill keys an entry leaves out."""
    raw = read_yaml(path, "config file")
    if isinstance(raw, dict) and "models" in raw:
        raw = raw["models"]
    if isinstance(raw, dict):
        raw = [dict(value or {}, name=key) if isinstance(value or {}, dict) else value for key, value in raw.items()]
    if not isinstance(raw, list) or not raw or not all(isinstance(entry, dict) for entry in raw):
        raise ConfigError(f"{path}: expected a list of model configurations, e.g. '- {{name: gru64, model: gru}}'")
    specs = []
    for index, entry in enumerate(raw):
        entry = dict(entry)
        name = str(entry.pop("name", None) or entry.get("model") or f"config{index}")
        specs.append(ModelSpec(name, dict(defaults or {}) | entry))
    return specs


def check_specs(specs: Sequence[ModelSpec]) -> None:
    """Every configuration builds a Recognizer (unknown options fail now, not after hours)."""
    if not specs:
        raise ConfigError("nothing to compare: give --config models.yaml or at least one --model")
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"two configurations are named '{repeated[0]}'; give each a distinct name")
    for spec in specs:
        try:
            _ = Recognizer(**{k: v for k, v in spec.options.items() if k != "seed"}).config  # checked when read
        except TypeError as error:
            raise ConfigError(f"configuration '{spec.name}': {error}") from None
        except ConfigError as error:
            raise ConfigError(f"configuration '{spec.name}': {error}") from None


def data_fingerprint(data: SequenceDataset) -> str:
    """Hash of the dataset's content (values, lengths, labels, groups), independent of file paths."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (data.X, data.lengths, data.y if data.y is not None else np.zeros(0)):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(json.dumps([data.label_names, None if data.groups is None else data.groups.tolist()]).encode())
    return digest.hexdigest()


def cached_run(path: Path, use_cache: bool, evaluate: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """One run's record from its cache file when there is one, else `evaluate()` written there
    atomically; and whether it came from the cache."""
    if use_cache and path.is_file():
        return json.loads(path.read_text()), True
    record = evaluate()
    if use_cache:
        write_text_atomic(path, json.dumps(record))
    return record, False


def run_key(fingerprint: str, options: dict[str, Any], split: dict[str, Any], seed: int) -> str:
    payload = json.dumps(
        {"data": fingerprint, "config": options, "split": split, "seed": seed, "version": __version__},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def evaluate_run(
    fit: FitFunction,
    options: dict[str, Any],
    train: SequenceDataset,
    validation: SequenceDataset,
    test: SequenceDataset,
    seed: int,
) -> dict[str, Any]:
    """Train once (`validation` picks the epoch), score on `test`, time training and measure the network's latency."""
    start = time.perf_counter()
    fitted = fit(options, train, seed, validation)
    train_time = time.perf_counter() - start
    metrics = compute_metrics(test.labels, fitted.predict_proba(test), test.label_names)
    return headline(metrics) | {
        "param_count": parameter_count(fitted.network),
        "train_time_s": train_time,
        "latency_us": window_latency_us(fitted.network, fitted.window_length, fitted.n_features),
    }


def validation_fraction(options: dict[str, Any]) -> float:
    """The `val_fraction` a configuration asks for (checked as `Recognizer` checks it)."""
    return Recognizer(**{key: value for key, value in options.items() if key != "seed"}).config.val_fraction


def plan_runs(
    data: SequenceDataset,
    seeds: Sequence[int] | None,
    folds: int | None,
    split_seed: int,
    test_fraction: float,
    val_fraction: float,
) -> tuple[dict[str, Any], list[tuple[str, int, SplitPlan]]]:
    """(split description for the cache key, [(run label, training seed, SplitPlan)]).

    Holdout: one `plan_splits` plan shared by every seed. Folds: each fold's training part split
    once more for validation. All by `split_seed`, so every configuration and seed trains, picks its
    epoch and is scored on the same samples.
    """
    if folds:
        if folds < 2:
            raise ConfigError(f"--folds must be at least 2, got {folds}")
        seed = int(seeds[0]) if seeds else 0
        runs = []
        for number, (train, test) in enumerate(kfold_splits(data, folds, split_seed)):
            part = plan_splits(data.subset(train), split_seed, val_fraction)
            runs.append(
                (
                    f"fold{number}",
                    seed,
                    SplitPlan(train=train[part.train], validation=train[part.validation], test=test),
                )
            )
        return {"mode": "kfold", "folds": folds, "split_seed": split_seed, "val_fraction": val_fraction}, runs
    plan = plan_splits(data, split_seed, val_fraction, test_fraction)
    runs = [(f"seed{seed}", int(seed), plan) for seed in (list(seeds) if seeds else [0, 1, 2])]
    return {
        "mode": "holdout",
        "test_fraction": test_fraction,
        "split_seed": split_seed,
        "val_fraction": val_fraction,
    }, runs


@dataclass
class CompareResult:
    runs: pd.DataFrame  # one row per (configuration, seed or fold)
    summary: pd.DataFrame  # one row per configuration: <metric>_mean, <metric>_std, costs
    fits: int  # how many runs were trained (not read from the cache)
    n_classes: int  # of the data compared on (top-5 is shown only above 5)
    notes: list[str] = field(default_factory=list)  # classes some folds cannot test or train on (`fold_notes`)

    def display(self) -> pd.DataFrame:
        """The summary as `mean ± std` strings (`evaluation.tables.display_table`)."""
        return display_table(self.summary, self.n_classes)


def compare(
    data: SequenceDataset,
    specs: Sequence[ModelSpec],
    out: str | Path,
    seeds: Sequence[int] | None = None,
    folds: int | None = None,
    split_seed: int = 0,
    test_fraction: float = 0.2,
    fit: FitFunction = fit_recognizer,
    use_cache: bool = True,
    on_run: Callable[[str, str, bool], None] | None = None,
) -> CompareResult:
    """Evaluate every spec on every seed (holdout) or fold; write tables and a plot into `out`.

    seeds: training seeds on one holdout split (repeat a seed to check determinism); folds: k-fold
    CV instead, trained with the first seed. `on_run(config name, run label, cached)` reports
    progress. Files: runs.csv, summary.csv, summary.md, compare.json, accuracy_vs_latency.png.
    """
    check_specs(specs)
    out = Path(out)
    cache = out / "cache"
    plans: dict[
        float, tuple[dict[str, Any], list[tuple[str, int, SplitPlan]]]
    ] = {}  # one per validation fraction asked for
    fingerprint = data_fingerprint(data)
    rows, fits = [], 0
    for spec in specs:
        val_fraction = validation_fraction(spec.options)
        if val_fraction not in plans:
            plans[val_fraction] = plan_runs(data, seeds, folds, split_seed, test_fraction, val_fraction)
        split, runs = plans[val_fraction]
        for label, seed, plan in runs:
            key = run_key(fingerprint, spec.options, split | {"run": label}, seed)
            record, cached = cached_run(
                cache / f"{key}.json",
                use_cache,
                lambda: evaluate_run(fit, spec.options, *plan.parts(data), seed),  # noqa: B023 (cached_run calls it at once)
            )
            fits += not cached
            if on_run:
                on_run(spec.name, label, cached)
            rows.append({"config": spec.name, "run": label, "seed": seed} | record)
    table = pd.DataFrame(rows)
    summary = summarize(table, [spec.name for spec in specs])
    split = next(iter(plans.values()))[0] | ({"val_fraction": sorted(plans)} if len(plans) > 1 else {})
    write_outputs(out, table, summary, specs, split, data.source, data.n_classes)
    _, first_runs = next(iter(plans.values()))
    notes = (
        fold_notes([(np.concatenate([plan.train, plan.validation]), plan.test) for _, _, plan in first_runs], data)
        if folds
        else []
    )
    return CompareResult(table, summary, fits, data.n_classes, notes)


def summarize(runs: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Mean and sample std (0 for a single run) per configuration, in the given order."""
    grouped = runs.groupby("config", sort=False)
    summary = pd.DataFrame(index=pd.Index(list(order), name="config"))
    summary["runs"] = grouped.size()
    for column in METRICS + ("train_time_s", "latency_us"):
        summary[f"{column}_mean"] = grouped[column].mean()
        summary[f"{column}_std"] = grouped[column].std(ddof=1).fillna(0.0)
    summary["param_count"] = grouped["param_count"].first()
    return summary.reset_index()


def plot_accuracy_latency(summary: pd.DataFrame, path: Path, title: str = "accuracy vs latency") -> None:
    """Top-1 (mean ± std) against single-window latency, one labelled point per configuration."""
    from actrec.evaluation.report import new_figure, save_figure

    figure, axis = new_figure()
    axis.errorbar(
        summary["latency_us_mean"],
        summary["top1_mean"],
        xerr=summary["latency_us_std"],
        yerr=summary["top1_std"],
        fmt="o",
        capsize=3,
    )
    for row in summary.itertuples():
        axis.annotate(
            row.config, (row.latency_us_mean, row.top1_mean), textcoords="offset points", xytext=(5, 5), fontsize=8
        )
    axis.set_xlabel("latency per window, µs (1 CPU thread, median)")
    axis.set_ylabel("top-1 accuracy")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    save_figure(figure, path)


def write_outputs(
    out: Path,
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    specs: Sequence[ModelSpec],
    split: dict[str, Any],
    source: str,
    n_classes: int,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "runs.csv", runs.to_csv(index=False))
    write_text_atomic(out / "summary.csv", summary.to_csv(index=False))
    text = f"# Model comparison\n\nData: `{source}`; split: {json.dumps(split)}\n\n" + markdown_table(
        display_table(summary, n_classes)
    )
    write_text_atomic(out / "summary.md", text)
    configs = {spec.name: spec.options for spec in specs}
    record = {
        "kind": "compare",
        "data": source,
        "n_classes": n_classes,
        "split": split,
        "configs": configs,
        "summary": summary.to_dict(orient="records"),
    }
    write_text_atomic(out / "compare.json", json.dumps(record, indent=2, default=str))
    plot_accuracy_latency(summary, out / "accuracy_vs_latency.png")
