"""The fit loop of neural models: Lightning's Trainer set up in one place.

`Recognizer` builds the network and the featurised datasets; this module does the rest: class
weights, loaders, the LightningModule, callbacks, checkpoints, DDP, and what happens when a run is
stopped. Checkpoints go to `checkpoint_dir` after every epoch (`last.ckpt`, and `best.ckpt` by the
monitored metric), so a run killed in any way loses at most the epoch under way, and
`resume_from` continues it to the weights a straight run reaches. A run stopped by SIGINT or
SIGTERM raises `TrainingInterrupted` instead of returning half-trained weights as a result.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from actrec.errors import TrainingInterrupted
from actrec.training import BEST, LAST, is_launching_process
from actrec.training.checkpoint import RunCheckpoint, RunState, SafeCheckpointIO, check_same_run, read_checkpoint


class LoopOptions(Protocol):
    """The training settings the loop reads, read only: the fields of `actrec.config.TrainingOptions`,
    which sequence (`TrainConfig`) and clip (`VideoTrainConfig`) training both extend."""

    @property
    def epochs(self) -> int: ...
    @property
    def optimizer(self) -> str: ...
    @property
    def lr(self) -> float: ...
    @property
    def weight_decay(self) -> float: ...
    @property
    def scheduler(self) -> str: ...
    @property
    def patience(self) -> int: ...
    @property
    def monitor(self) -> str: ...
    @property
    def class_weight(self) -> str | None: ...
    @property
    def devices(self) -> int: ...
    @property
    def num_nodes(self) -> int: ...
    @property
    def time_budget(self) -> float | None: ...
    @property
    def label_smoothing(self) -> float: ...
    @property
    def mixup(self) -> float: ...


class TrainData(Protocol):
    """A LightningDataModule for `fit_loop`: `train` is the training dataset (one with an `epoch`
    attribute is told each epoch's number, for fresh augmentation) and `generator` draws every
    epoch's batch order (its state travels in the checkpoints)."""

    train: Dataset
    generator: torch.Generator


@dataclass
class FitResult:
    """Per-epoch history, and whether this process is rank 0 of how many (rank 0 alone holds
    the checkpoints and the best weights, and writes results)."""

    history: pd.DataFrame
    is_main_process: bool
    world_size: int
    cut_by_time_budget: bool = False


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Loss weights inversely proportional to class frequency; 0 for classes absent from `labels`."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = counts[present].sum() / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)


def fit_loop(
    network: nn.Module,
    options: LoopOptions,
    data: TrainData,
    train_labels: np.ndarray,
    n_classes: int,
    run: dict[str, Any],
    checkpoint_dir: Path | None = None,
    resume_from: str | Path | None = None,
    progress: bool = False,
) -> FitResult:
    """Train `network` in place on `data`'s batches `(x, lengths [B], y [B])` and leave it in
    eval mode with the best epoch's weights (sequence and clip runs both train here).

    `run` (JSON-able: the config fields and facts of the data) is stored in every checkpoint, and
    resuming from `resume_from` is refused in one line when it differs in anything but
    RESUMABLE_CHANGES. Without `checkpoint_dir` the checkpoints go to a temporary folder removed
    at the end.
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping

    from actrec.training.callbacks import EpochSeed, History, progress_bar
    from actrec.training.module import ClassifierModule, OptimConfig
    from actrec.training.quiet import quiet_lightning

    quiet_lightning()
    if resume_from is not None:
        check_same_run(resume_from, run)
    weights = balanced_class_weights(train_labels, n_classes) if options.class_weight == "balanced" else None
    history, state = History(), RunState(run, data.generator)
    callbacks: list[Any] = [history, state]
    if hasattr(data.train, "epoch"):
        callbacks.append(EpochSeed(data.train))
    module = ClassifierModule(
        network,
        OptimConfig(options.optimizer, options.lr, options.weight_decay, options.scheduler),
        weights,
        options.epochs,
        options.label_smoothing,
        options.mixup,
    )
    mode = "min" if options.monitor == "val_loss" else "max"
    scratch = None if checkpoint_dir is not None else Path(tempfile.mkdtemp(prefix="actrec-checkpoints-"))
    if (
        checkpoint_dir is not None and resume_from is None and is_launching_process()
    ):  # else ModelCheckpoint names ours best-v1
        for stale in Path(checkpoint_dir).glob("*.ckpt"):
            stale.unlink()
    checkpoint = RunCheckpoint(
        dirpath=checkpoint_dir or scratch, filename=Path(BEST).stem, monitor=options.monitor, mode=mode, save_last=True
    )
    callbacks += [checkpoint, EarlyStopping(monitor=options.monitor, mode=mode, patience=options.patience)]
    if progress:
        callbacks.append(progress_bar())
    distributed = options.devices * options.num_nodes > 1
    on_gpu = torch.cuda.is_available()
    trainer = L.Trainer(
        max_epochs=options.epochs,
        accelerator="auto" if on_gpu else "cpu",
        devices=options.devices,
        num_nodes=options.num_nodes,
        strategy="ddp" if distributed else "auto",
        callbacks=callbacks,
        plugins=[SafeCheckpointIO()],
        logger=False,
        # CPU kernels are already deterministic for a given seed and thread count; forcing
        # deterministic algorithms there only slows recurrent backward passes (~18% measured by
        # bench/train_throughput.py --model gru) and leaks a global torch flag into the caller
        deterministic=on_gpu,
        max_time=timedelta(seconds=options.time_budget) if options.time_budget else None,
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    try:
        _fit(trainer, module, data, resume_from, state, checkpoint)
        is_main = trainer.global_rank == 0
        if is_main:
            best = checkpoint.best_model_path
            if not best or not Path(best).is_file():
                best = checkpoint.last_model_path
            weights_state = read_checkpoint(best)["state_dict"]
            network.load_state_dict(
                {k.removeprefix("network."): v for k, v in weights_state.items() if k.startswith("network.")}
            )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    network.eval()
    return FitResult(pd.DataFrame(history.rows), is_main, trainer.world_size, _stopped_by_timer(trainer))


def _stopped_by_timer(trainer: Any) -> bool:
    """Whether `max_time` (the time budget, a guard) ended training: such a run depends on the
    machine's load, so the run says so."""
    from lightning.pytorch.callbacks import Timer

    for callback in trainer.callbacks:
        if isinstance(callback, Timer):
            remaining = callback.time_remaining("train")
            return remaining is not None and remaining <= 0
    return False


def _fit(
    trainer: Any, module: Any, data: Any, resume_from: str | Path | None, state: RunState, checkpoint: RunCheckpoint
) -> None:
    """`trainer.fit`, with a stop by SIGINT or SIGTERM turned into `TrainingInterrupted`.

    Lightning catches Ctrl-C's KeyboardInterrupt and exits (`sys.exit(1)`, or returns in older
    versions), and turns SIGTERM into SIGTERMException at the end of the epoch; both leave
    `trainer.interrupted` set, which is what tells a cut-short run from a finished one.
    """
    try:
        trainer.fit(
            module, datamodule=data, ckpt_path=None if resume_from is None else str(resume_from), weights_only=True
        )
    except (KeyboardInterrupt, SystemExit):
        if not trainer.interrupted:
            raise
        raise _interrupted(trainer, state, checkpoint) from None
    if trainer.interrupted:
        raise _interrupted(trainer, state, checkpoint)


def _interrupted(trainer: Any, state: RunState, checkpoint: RunCheckpoint) -> TrainingInterrupted:
    signal_name = "SIGTERM" if trainer.received_sigterm else "SIGINT"
    last = Path(checkpoint.dirpath or ".") / LAST
    if state.epochs_saved and last.is_file():
        return TrainingInterrupted(
            f"training stopped by {signal_name} with {state.epochs_saved} of {trainer.max_epochs} epochs done (checkpoint {last})",
            signal_name,
            str(last),
        )
    return TrainingInterrupted(
        f"training stopped by {signal_name} before its first epoch ended; nothing to resume", signal_name, None
    )
