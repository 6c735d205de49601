"""Callbacks Lightning lacks: a per-epoch history table, fresh augmentation each epoch, and
progress that still shows when output goes to a log file or a pipe."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar


class History(L.Callback):
    """Collects epoch, learning rate and the logged train/val loss and accuracy, one row per epoch.

    The rows travel in the checkpoint, so a resumed run's history starts at epoch 1."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def state_dict(self) -> dict[str, list[dict[str, float]]]:
        return {"rows": [dict(row) for row in self.rows]}

    def load_state_dict(self, state_dict: dict[str, list[dict[str, float]]]) -> None:
        self.rows = [dict(row) for row in state_dict["rows"]]

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        row: dict[str, float] = {"epoch": trainer.current_epoch + 1, "lr": trainer.optimizers[0].param_groups[0]["lr"]}
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            if key in metrics:
                row[key] = float(metrics[key])
        self.rows.append(row)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # train_* metrics are reduced after validation ran, so fill them into this epoch's row
        if self.rows and self.rows[-1]["epoch"] == trainer.current_epoch + 1:
            for key in ("train_loss", "train_acc"):
                if key in trainer.callback_metrics:
                    self.rows[-1][key] = float(trainer.callback_metrics[key])


class EpochSeed(L.Callback):
    """Tells an augmenting dataset which epoch it is, so each epoch draws new, reproducible noise."""

    def __init__(self, dataset: object) -> None:
        self.dataset = dataset

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.dataset.epoch = trainer.current_epoch  # type: ignore[attr-defined]

    def on_load_checkpoint(self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        # a resumed run's first batch iterator (and its DataLoader workers, which copy the
        # dataset) is made before on_train_epoch_start: tell the dataset the epoch under way now
        self.dataset.epoch = int(checkpoint["epoch"]) + 1  # type: ignore[attr-defined]


class EpochLines(ProgressBar):
    """One plain line per finished epoch on `stream` (stderr by default):
    `epoch 3/60  train_loss 0.812  val_loss 0.744  val_acc 0.667  4.1 s`.

    A live bar redraws one terminal line; written to a file or a pipe (CI, nohup, a cluster job)
    it shows nothing until the end, so off a terminal this takes its place.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.enabled = True
        self._started = 0.0

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # runs after the epoch's validation, so train and val metrics are both reduced by now
        if not self.enabled or trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        parts += [f"{key} {float(metrics[key]):.4f}" for key in ("train_loss", "val_loss", "val_acc") if key in metrics]
        parts.append(f"{time.perf_counter() - self._started:.1f} s")
        stream = self.stream or sys.stderr
        stream.write("  ".join(parts) + "\n")
        stream.flush()


def progress_bar(stream: TextIO | None = None) -> ProgressBar:
    """rich's live bar on a terminal (or in Jupyter); one line per epoch anywhere else."""
    from rich.console import Console

    console = Console(file=stream or sys.stderr)
    return RichProgressBar() if console.is_terminal or console.is_jupyter else EpochLines(stream)
