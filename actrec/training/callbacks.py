"""Callbacks Lightning lacks: a per-epoch history table and fresh augmentation each epoch."""

from __future__ import annotations

import lightning as L


class History(L.Callback):
    """Collects epoch, learning rate and the logged train/val loss and accuracy, one row per epoch."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

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
