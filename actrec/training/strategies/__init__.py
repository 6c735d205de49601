"""Fit strategies: how a sequence recognizer's network is fitted, one part each, chosen from the
model's capabilities and options (`choose_strategy`), never from its class.

- `gradient.GradientTraining`: Lightning's loop (`training/fit.py`), epochs, checkpoints, resume;
- `closed_form.ClosedFormKernels`: random-kernel models in closed form (`training/kernels.py`);
- `ensemble.KernelEnsemble`: `model=auto`, members fitted alone and averaged;
- `skeleton_modalities.SkeletonModalities`: one network per skeleton modality, averaged.

The recognizer (`actrec.recognizers`) keeps the door (input checks) and persistence; a strategy
gets it as a `Host` (what it reads and fills in: the feature pipeline, the network builder, new
member recognizers) and returns a `FitOutcome` whose `history` is the one the strategy has:
epochs, the penalty search of a closed-form fit, or the members with their validation log-loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from torch import nn

from actrec.data.dataset import SequenceDataset
from actrec.errors import ConfigError
from actrec.features.pipeline import FeaturePipeline, Step
from actrec.models import Capabilities
from actrec.training.feature_store import TransformedBatches


@dataclass
class FitTask:
    """The data of one fit: all of it (for the pipeline's layout), its training and validation
    parts, and where checkpoints go / which one to resume from."""

    dataset: SequenceDataset
    train: SequenceDataset
    validation: SequenceDataset
    work_dir: str | Path | None = None
    progress: bool = False
    resume_from: str | Path | None = None


@dataclass
class FitOutcome:
    """What a strategy fitted: the network (eval mode), out-of-sample validation probabilities
    when the model was refitted on train + validation, its history, notes for the person reading
    the run, whether the time budget cut it, and this process's rank (DDP)."""

    network: nn.Module
    history: pd.DataFrame
    validation_proba: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    cut_by_time_budget: bool = False
    is_main_process: bool = True
    world_size: int = 1


class Host(Protocol):
    """What a strategy reads and fills in on the recognizer it fits (`actrec.recognizers`)."""

    config: Any  # the checked TrainConfig
    label_names: list[str]
    schema: str | None
    pipeline: FeaturePipeline | None
    n_features: int

    def build_network(self) -> nn.Module: ...
    def default_steps(self, dataset: SequenceDataset) -> list[Step]: ...
    def features(self, dataset: SequenceDataset) -> np.ndarray: ...
    def batches(self, dataset: SequenceDataset) -> TransformedBatches: ...
    def member_options(self) -> dict[str, Any]: ...
    def new(self, **params: Any) -> Any: ...


class FitStrategy(Protocol):
    """One way to fit: `fit(host, task)` fills in the host's pipeline and returns the rest."""

    name: str

    def fit(self, host: Host, task: FitTask) -> FitOutcome: ...


def fit_task(
    dataset: SequenceDataset,
    validation: SequenceDataset | None,
    config: Any,
    work_dir: str | Path | None = None,
    progress: bool = False,
    resume_from: str | Path | None = None,
) -> FitTask:
    """The fit's data: each sample's last `config.last_steps` steps when set, and a stratified,
    group-aware `val_fraction` held out for validation unless `validation` is given."""
    from actrec.data.splits import plan_splits

    if config.last_steps:
        dataset = dataset.keep_last(config.last_steps)
        validation = validation.keep_last(config.last_steps) if validation is not None else None
    if validation is None:
        train, validation, _ = plan_splits(dataset, config.seed, config.val_fraction).parts(dataset)
    else:
        train = dataset
    return FitTask(dataset, train, validation, work_dir, progress, resume_from)


def choose_strategy(capabilities: Capabilities, modalities: list[str]) -> FitStrategy:
    """The strategy for a model with these capabilities, trained on these skeleton modalities."""
    from actrec.training.strategies.closed_form import ClosedFormKernels
    from actrec.training.strategies.ensemble import KernelEnsemble
    from actrec.training.strategies.gradient import GradientTraining
    from actrec.training.strategies.skeleton_modalities import SkeletonModalities

    if capabilities.ensemble:
        return KernelEnsemble()
    if len(modalities) > 1:
        return SkeletonModalities()
    if capabilities.closed_form:
        return ClosedFormKernels()
    return GradientTraining()


def refuse_resume(resume_from: str | Path | None, why: str) -> None:
    """A fit that keeps no checkpoints refuses `--resume` in one line saying why."""
    if resume_from is not None:
        raise ConfigError(why)
