"""The LightningModule: loss, metrics and optimiser around a network that knows none of them."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from actrec.training.optim import OPTIMIZERS, OptimConfig


class ClassifierModule(L.LightningModule):
    """Cross-entropy training of `network` on batches `(x [B, T, F], lengths [B], y [B])`.

    label_smoothing: the target's mass spread over the other classes (training loss only, so
    val_loss stays comparable between runs). mixup: Beta(mixup, mixup) weight of a training batch
    mixed with a shuffled copy of itself (inputs and losses; mixup's recipe), 0 for none; drawn
    from torch's generator, which the seed and a resumed checkpoint fix. For same-shape inputs
    (clips); padded sequences of different lengths would mix their padding.
    """

    def __init__(
        self,
        network: nn.Module,
        optim: OptimConfig,
        class_weights: torch.Tensor | None,
        epochs: int,
        label_smoothing: float = 0.0,
        mixup: float = 0.0,
    ) -> None:
        super().__init__()
        optim.check()
        self.network = network
        self.optim = optim
        self.epochs = epochs
        self.mixup = mixup
        self.loss = nn.CrossEntropyLoss(weight=class_weights)
        self.train_loss = nn.CrossEntropyLoss(weight=class_weights, label_smoothing=label_smoothing)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.network(x, lengths)

    def _step(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        x, lengths, y = batch
        if stage != "train":
            logits = self.network(x, lengths)
            loss = self.loss(logits, y)
        elif self.mixup > 0:
            weight = float(torch.distributions.Beta(self.mixup, self.mixup).sample())
            order = torch.randperm(len(y), device=y.device)
            logits = self.network(weight * x + (1 - weight) * x[order], lengths)
            loss = weight * self.train_loss(logits, y) + (1 - weight) * self.train_loss(logits, y[order])
        else:
            logits = self.network(x, lengths)
            loss = self.train_loss(logits, y)
        accuracy = (logits.argmax(1) == y).float().mean()
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)
        self.log(
            f"{stage}_acc", accuracy, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True
        )
        return loss

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_index: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_index: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self):
        optim = self.optim
        optimizer = OPTIMIZERS[optim.optimizer](self.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
        if optim.scheduler == "none":
            return optimizer
        scheduler: torch.optim.lr_scheduler.LRScheduler
        if optim.scheduler == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, optim.step_size, optim.gamma)
            return {"optimizer": optimizer, "lr_scheduler": scheduler}
        if optim.scheduler == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=optim.gamma, patience=optim.plateau_patience
            )
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}
        if optim.scheduler == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, self.epochs))
            return {"optimizer": optimizer, "lr_scheduler": scheduler}
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=optim.lr, total_steps=max(1, total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
