"""Hyperparameter search on Optuna: accuracy up, latency down, over a declared space.

The space is YAML:

```yaml
base:                      # Recognizer keyword arguments every trial starts from
  model: gru
  epochs: 20
params:                    # dotted paths into those arguments
  model_options.hidden_sizes: {layers: [1, 3], units: [8, 128], log: true}
  model_options.dropout: {float: [0.0, 0.5]}
  model_options.activation: {choice: [relu, tanh]}
  lr: {float: [0.0003, 0.01], log: true}
  joints: {choice: [[hands], [hands, face]]}
  last_steps: {int: [16, 48], step: 8}      # keeps the last N steps of every sample (alias: window_length)
enqueue:                   # optional: points tried first (e.g. your current model)
  - {model_options.hidden_sizes: [128, 128]}
```

Multi-objective studies (the default) cannot prune on intermediate values: Optuna's
`Trial.report` raises NotImplementedError when a study has several directions, and its pruners
are documented as single-objective only. So each trial stops early on its own validation loss
(the Recognizer's `patience`), and reported pruning (MedianPruner on the running mean accuracy
over CV folds) is used only with `objective="accuracy"` and `folds >= 2`.

Storage defaults to SQLite in the output folder; an RDB URL (postgresql://...) lets several
machines run `actrec sweep` on one study at once (same --study name, shared storage).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from actrec.data.dataset import SequenceDataset
from actrec.errors import ConfigError, first_line
from actrec.evaluation.tables import markdown_table
from actrec.experiments.compare import (
    FitFunction,
    evaluate_run,
    fit_recognizer,
    plan_runs,
    validation_fraction,
)
from actrec.io.atomic import write_text_atomic
from actrec.io.yaml_file import read_yaml

KINDS = ("int", "float", "choice", "layers")
OBJECTIVES = ("accuracy+latency", "accuracy")


@dataclass
class Space:
    """A parsed space file: fixed `base` arguments, searched `params`, points to `enqueue`."""

    base: dict[str, Any]
    params: dict[str, dict[str, Any]]
    enqueue: list[dict[str, Any]]
    source: str = "<memory>"


def load_space(path: str | Path) -> Space:
    """Read and check a space YAML (see the module docstring); errors name the key at fault."""
    raw = read_yaml(path, "space file") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'base' and 'params'")
    return parse_space(raw, str(path))


def parse_space(raw: dict[str, Any], source: str = "<memory>") -> Space:
    unknown = sorted(set(raw) - {"base", "params", "enqueue"}, key=str)
    if unknown:
        raise ConfigError(f"{source}: unknown key '{unknown[0]}'; a space has base, params and enqueue")
    params = raw.get("params") or {}
    if not isinstance(params, dict) or not params:
        raise ConfigError(
            f"{source}: 'params' must map at least one dotted name to a range, e.g. 'lr: {{float: [0.0001, 0.01], log: true}}'"
        )
    for name, spec in params.items():
        kinds = [kind for kind in KINDS if isinstance(spec, dict) and kind in spec]
        if len(kinds) != 1:
            raise ConfigError(f"{source}: param '{name}' needs exactly one of {', '.join(KINDS)}, e.g. {{int: [1, 3]}}")
        kind = kinds[0]
        value = spec[kind]
        if kind == "choice" and (not isinstance(value, list) or not value):
            raise ConfigError(f"{source}: param '{name}': choice needs a non-empty list")
        numbers = (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )
        if kind in ("int", "float", "layers") and not (numbers and value[0] <= value[1]):
            raise ConfigError(f"{source}: param '{name}': {kind} needs [low, high] with low <= high")
        if kind == "layers" and not (isinstance(spec.get("units"), list) and len(spec["units"]) == 2):
            raise ConfigError(f"{source}: param '{name}': layers needs units: [low, high]")
    base = raw.get("base") or {}
    if not isinstance(base, dict):
        raise ConfigError(f"{source}: 'base' must be a mapping of Recognizer arguments")
    enqueue = raw.get("enqueue") or []
    if not isinstance(enqueue, list) or not all(isinstance(point, dict) for point in enqueue):
        raise ConfigError(f"{source}: 'enqueue' must be a list of mappings of param name -> value")
    for point in enqueue:
        stray = sorted(set(point) - set(params))
        if stray:
            raise ConfigError(f"{source}: enqueued point sets '{stray[0]}', which is not in params")
    return Space(dict(base), dict(params), list(enqueue), source)


def suggest(trial: Any, space: Space) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Recognizer arguments, values chosen) for one trial, define-by-run."""
    config = copy.deepcopy(space.base)
    chosen: dict[str, Any] = {}
    for name, spec in space.params.items():
        log = bool(spec.get("log", False))
        if "int" in spec:
            low, high = spec["int"]
            value: Any = trial.suggest_int(name, int(low), int(high), step=int(spec.get("step", 1)), log=log)
        elif "float" in spec:
            low, high = spec["float"]
            value = trial.suggest_float(name, float(low), float(high), log=log)
        elif "choice" in spec:
            # Optuna stores only scalars, so list-valued choices (joint subsets) travel as JSON text.
            value = json.loads(trial.suggest_categorical(name, [json.dumps(c) for c in spec["choice"]]))
        else:
            low, high = spec["layers"]
            count = trial.suggest_int(f"{name}.layers", int(low), int(high))
            unit_low, unit_high = spec["units"]
            value = [trial.suggest_int(f"{name}.{i}", int(unit_low), int(unit_high), log=log) for i in range(count)]
        chosen[name] = value
        # `window_length` is the older name of TrainConfig.last_steps
        set_dotted(config, "last_steps" if name == "window_length" else name, value)
    return config, chosen


def enqueue_params(point: dict[str, Any], space: Space) -> dict[str, Any]:
    """An enqueued point in Optuna's flat parameter names (layers expand to count + sizes)."""
    flat: dict[str, Any] = {}
    for name, value in point.items():
        spec = space.params[name]
        if "layers" in spec:
            flat[f"{name}.layers"] = len(value)
            flat.update({f"{name}.{i}": int(units) for i, units in enumerate(value)})
        elif "choice" in spec:
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def set_dotted(config: dict[str, Any], name: str, value: Any) -> None:
    keys = name.split(".")
    target = config
    for key in keys[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            raise ConfigError(f"param '{name}': '{key}' is not a mapping in base")
    target[keys[-1]] = value


def default_storage(out: str | Path) -> str:
    return f"sqlite:///{(Path(out) / 'study.db').resolve()}"


@dataclass
class SweepResult:
    study: Any  # optuna.Study
    trials: pd.DataFrame  # every finished trial: number, state, metrics, costs, params
    front: pd.DataFrame  # Pareto-optimal (or best) trials, fastest first
    best: dict[str, Any]  # the chosen trial's row
    best_config: dict[str, Any]  # its Recognizer arguments, as written to best_config.yaml


def sweep(
    data: SequenceDataset,
    space: Space,
    out: str | Path,
    trials: int,
    storage: str | None = None,
    study_name: str = "actrec-sweep",
    objective: str = "accuracy+latency",
    folds: int | None = None,
    split_seed: int = 0,
    seed: int | None = None,
    tolerance: float = 0.01,
    fit: FitFunction = fit_recognizer,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run `trials` more trials of the study (created or joined) and write its reports into `out`.

    Each trial trains on a fixed stratified, group-aware split plan (`compare.plan_runs`: the test,
    validation and training parts `actrec train` cuts with `--seed split_seed`), or `folds`-fold
    CV, and is scored by holdout top-1 and single-window latency. The chosen configuration is the fastest on
    the Pareto front whose accuracy is within `tolerance` of the front's best (single objective:
    the best trial). `seed` fixes the sampler; leave it None when several workers share a study.
    Files: study.db (default storage), trials.csv, pareto.csv, pareto.md, pareto.png, sweep.json,
    best_config.yaml.
    """
    import optuna

    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective '{objective}'; choose one of: {', '.join(OBJECTIVES)}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or default_storage(out)
    multi = objective == "accuracy+latency"
    pruner = optuna.pruners.NopPruner() if multi or not folds else optuna.pruners.MedianPruner(n_startup_trials=3)
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            directions=["maximize", "minimize"] if multi else ["maximize"],
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner,
            load_if_exists=True,
        )
    except ValueError as error:  # e.g. joining a study created with other directions
        raise ConfigError(f"storage {storage}: {first_line(error)}") from None
    for point in space.enqueue:
        study.enqueue_trial(enqueue_params(point, space), skip_if_exists=True)

    def run_trial(trial: Any) -> Any:
        config, chosen = suggest(trial, space)
        # the split does not depend on the steps, so `last_steps` cuts inside the Recognizer, as in
        # `actrec train --config best_config.yaml` (whose run.py cuts this same plan)
        _, runs = plan_runs(data, [split_seed], folds, split_seed, 0.2, validation_fraction(config))
        records = []
        for step, (_, run_seed, plan) in enumerate(runs):
            records.append(evaluate_run(fit, config, *plan.parts(data), run_seed))
            if not multi and len(runs) > 1:
                trial.report(float(np.mean([r["top1"] for r in records])), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        summary = {key: float(np.mean([r[key] for r in records])) for key in records[0]}
        trial.set_user_attr("config", config)
        trial.set_user_attr("chosen", chosen)
        for key, value in summary.items():
            trial.set_user_attr(key, value)
        if on_trial:
            on_trial({"number": trial.number} | summary | {"params": chosen})
        return (summary["top1"], summary["latency_us"]) if multi else summary["top1"]

    study.optimize(run_trial, n_trials=trials, gc_after_trial=True)
    return write_sweep(study, out, multi, tolerance, space)


def short(value: Any) -> Any:
    """Floats to 4 significant digits for tables (exact values stay in the study and best_config)."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, list):
        return [short(item) for item in value]
    return value


def trial_rows(trials: Sequence[Any]) -> pd.DataFrame:
    """One row per trial: state, holdout metrics, costs and the chosen values (rounded)."""
    rows = []
    for trial in trials:
        attrs = trial.user_attrs
        rows.append(
            {"trial": trial.number, "state": trial.state.name}
            | {
                key: attrs.get(key)
                for key in ("top1", "top5", "macro_f1", "log_loss", "latency_us", "param_count", "train_time_s")
            }
            | {"params": json.dumps({key: short(value) for key, value in attrs.get("chosen", {}).items()}, default=str)}
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "trial",
            "state",
            "top1",
            "top5",
            "macro_f1",
            "log_loss",
            "latency_us",
            "param_count",
            "train_time_s",
            "params",
        ],
    )
    return frame.astype({"param_count": "Int64"})


def choose(front: pd.DataFrame, tolerance: float) -> pd.Series:
    """The fastest front trial whose top-1 is within `tolerance` of the front's best top-1."""
    good = front[front["top1"] >= front["top1"].max() - tolerance]
    return good.sort_values(["latency_us", "top1"], ascending=[True, False]).iloc[0]


def write_sweep(study: Any, out: Path, multi: bool, tolerance: float, space: Space) -> SweepResult:
    """Tables, plot, sweep.json and best_config.yaml for every complete trial in the study."""
    import optuna

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise ConfigError(f"study '{study.study_name}' has no complete trial yet; run more trials")
    every = trial_rows(study.trials)
    best_trials = study.best_trials if multi else [study.best_trial]
    front = trial_rows(best_trials).sort_values("latency_us").reset_index(drop=True)
    chosen = choose(front, tolerance)
    trial = next(t for t in complete if t.number == int(chosen["trial"]))
    best_config = trial.user_attrs["config"]
    write_text_atomic(out / "trials.csv", every.to_csv(index=False))
    write_text_atomic(out / "pareto.csv", front.to_csv(index=False))
    shown = front[["trial", "top1", "macro_f1", "latency_us", "param_count", "params"]].round(
        {"top1": 4, "macro_f1": 4, "latency_us": 1}
    )
    title = "Pareto front (accuracy up, latency down)" if multi else "Best trial (accuracy)"
    write_text_atomic(
        out / "pareto.md", f"# {title}\n\nChosen: trial {int(chosen['trial'])}\n\n" + markdown_table(shown)
    )
    plot_front(every, front, int(chosen["trial"]), out / "pareto.png")
    header = f"# actrec sweep: trial {trial.number} of study '{study.study_name}' (top-1 {chosen['top1']:.4f}, {chosen['latency_us']:.0f} µs/window)\n"
    write_text_atomic(out / "best_config.yaml", header + yaml.safe_dump(best_config, sort_keys=False))
    record = {
        "kind": "sweep",
        "study": study.study_name,
        "objectives": ["top1 (max)", "latency_us (min)"] if multi else ["top1 (max)"],
        "space": {"base": space.base, "params": space.params},
        "trials": len(study.trials),
        "complete": len(complete),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        "chosen_trial": trial.number,
        "best_config": best_config,
        "front": front.to_dict(orient="records"),
    }
    write_text_atomic(out / "sweep.json", json.dumps(record, indent=2, default=str))
    return SweepResult(study, every, front, {str(key): value for key, value in chosen.to_dict().items()}, best_config)


def plot_front(every: pd.DataFrame, front: pd.DataFrame, chosen: int, path: Path) -> None:
    """All complete trials in grey, the front as a line, the chosen trial starred."""
    from actrec.evaluation.report import new_figure, save_figure

    done = every[every["state"] == "COMPLETE"]
    figure, axis = new_figure()
    axis.scatter(done["latency_us"], done["top1"], color="0.7", label="trials")
    axis.plot(front["latency_us"], front["top1"], "o-", color="C0", label="Pareto front")
    pick = front[front["trial"] == chosen]
    axis.scatter(
        pick["latency_us"], pick["top1"], marker="*", s=250, color="C3", zorder=5, label=f"chosen (trial {chosen})"
    )
    for row in front.itertuples():
        axis.annotate(str(row.trial), (row.latency_us, row.top1), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axis.set_xlabel("latency per window, µs (1 CPU thread, median)")
    axis.set_ylabel("holdout top-1")
    axis.grid(alpha=0.3)
    axis.legend()
    save_figure(figure, path)
