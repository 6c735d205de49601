"""Optimiser and scheduler choices, importable without Lightning so options are checked at once
(`TrainConfig.check`) before anything heavy is loaded."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from actrec.errors import ConfigError

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
SCHEDULERS = ("none", "step", "plateau", "cosine", "onecycle")


@dataclass
class OptimConfig:
    """optimizer: adam | adamw | rmsprop; scheduler: none | step | plateau | cosine | onecycle."""

    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    scheduler: str = "cosine"
    step_size: int = 20
    gamma: float = 0.5
    plateau_patience: int = 5

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer '{self.optimizer}'; choose one of: {', '.join(OPTIMIZERS)}")
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"unknown scheduler '{self.scheduler}'; choose one of: {', '.join(SCHEDULERS)}")
