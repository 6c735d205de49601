"""A run checkpoints every epoch, also the epochs that do not improve on the best: a kill loses
at most the epoch under way."""

from __future__ import annotations

from pathlib import Path

import torch

from actrec.recognizers import Recognizer
from tests.helpers.waves import make_waves


def test_epochs_that_do_not_improve_are_checkpointed_too(tmp_path: Path):
    # a learning rate this small leaves validation accuracy where the first epoch put it, so only
    # epoch 1 is ever the best
    options = dict(
        model_options={"hidden_sizes": [8], "dense": []},
        lr=1e-12,
        scheduler="none",
        monitor="val_acc",
        patience=50,
        seed=0,
    )
    Recognizer("gru", epochs=3, **options).fit(make_waves(n=40), work_dir=tmp_path)
    checkpoints = tmp_path / "checkpoints"
    assert torch.load(checkpoints / "best.ckpt", weights_only=True)["epoch"] == 0
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 2
