"""Checkpoints a run can resume from: written whole, read without unpickling code, carrying the
run's settings and random-number state.

Lightning's checkpoint already holds the weights, optimiser, scheduler, loop counters and the
callbacks' state. What it lacks, added here:
- `SafeCheckpointIO` writes each file beside its target and renames it into place (a kill
  mid-write leaves the previous checkpoint whole) and reads with `torch.load(weights_only=True)`:
  tensors and plain values only, never arbitrary objects.
- `RunState` stores the run's settings (model, options, data facts), the torch / NumPy / Python
  RNG states and the batch-order generator's state in every checkpoint and puts the states back
  when training resumes, so the epochs after a resume draw the same batches and dropout masks as
  a straight run.
- `RunCheckpoint` is Lightning's ModelCheckpoint whose best/last bookkeeping follows the folder
  when it moves (RUN/partial -> RUN on publishing, or a copied run).
- `check_same_run` refuses, in one line naming the fields, to resume with other settings.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any, cast

import lightning as L
import numpy as np
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint

from actrec.errors import ConfigError, ModelFileError
from actrec.io.atomic import atomic_path

RUN_KEY = "actrec"  # the checkpoint's entry for RunState
# settings a resumed run may change: how long and on what hardware it trains, not what it learns
RESUMABLE_CHANGES = ("epochs", "patience", "time_budget", "devices", "num_nodes")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint as a dict of tensors and plain values; a file that needs anything
    more (a pickled object, code) or is cut short is refused in one line."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such checkpoint") from None
    except Exception as error:  # noqa: BLE001  UnpicklingError for objects, RuntimeError/EOFError for cut files
        raise ModelFileError(
            f"{path}: not a readable training checkpoint ({type(error).__name__}); it is truncated or holds "
            "objects other than tensors and plain values (actrec never unpickles); train without --resume"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ModelFileError(f"{path}: not a Lightning training checkpoint (no state_dict); train without --resume")
    return checkpoint


class SafeCheckpointIO(TorchCheckpointIO):
    """Atomic writes, weights-only reads (whatever `weights_only` Lightning passes)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        # serialised in memory, written by Python: a full disk or a file size limit is then an
        # OSError with its errno (torch's own file writer turns it into "unexpected pos" / basic_ios)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(buffer.getbuffer())

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return read_checkpoint(path)


def rng_state() -> dict[str, Any]:
    """The global generators' states as tensors and plain values (what weights-only loading reads)."""
    # legacy=True (the default) gives the tuple form
    _, keys, position, has_gauss, cached = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    np.random.set_state(
        ("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["position"], numpy["has_gauss"], numpy["cached"])
    )
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RunState(L.Callback):
    """Writes `run` (the settings that define the run, JSON-able), the global RNG states and
    that of `sampling` (the generator drawing each epoch's batch order) into every checkpoint,
    and puts the states back when Lightning loads a checkpoint to resume.

    Restoring happens on load, not when training starts: Lightning creates the first epoch's
    batch iterator (which draws from these generators) before `on_train_start`. Nothing draws
    from them between the checkpoint's load and that iterator, as nothing does in a straight run
    between the checkpoint's save and the next epoch's iterator."""

    def __init__(self, run: dict[str, Any], sampling: torch.Generator) -> None:
        self.run = json.dumps(run, sort_keys=True)
        self.sampling = sampling
        self.epochs_saved = 0

    def on_save_checkpoint(self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint[RUN_KEY] = {"run": self.run, "rng": rng_state(), "sampling": self.sampling.get_state()}
        self.epochs_saved = trainer.current_epoch + 1

    def on_load_checkpoint(self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        set_rng_state(checkpoint[RUN_KEY]["rng"])
        self.sampling.set_state(checkpoint[RUN_KEY]["sampling"])
        self.epochs_saved = int(checkpoint["epoch"]) + 1


class RunCheckpoint(ModelCheckpoint):
    """ModelCheckpoint that writes `last.ckpt` after every epoch, and whose restored paths point
    into its own folder, wherever the checkpoint was written.

    Lightning (2.6) writes the last checkpoint only in epochs that also wrote a best one, so a run
    killed after epochs that did not improve would lose them all; and it would drop the best score
    when the folder has moved and name a best file that is no longer there."""

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_validation_end(trainer, module)
        # skipped when this step is saved already (an improving epoch), or saving is not due now
        if not self._should_skip_saving_checkpoint(trainer) and not self._should_save_on_train_epoch_end(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, module)
        if not self._should_skip_saving_checkpoint(trainer) and self._should_save_on_train_epoch_end(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        here = Path(self.dirpath or ".")

        def moved(path: str | None) -> str | None:
            return str(here / Path(path).name) if path else path

        state = dict(state_dict, dirpath=self.dirpath)
        for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
            if key in state:
                state[key] = moved(state[key])
        if "best_k_models" in state:
            state["best_k_models"] = {moved(path): score for path, score in state["best_k_models"].items()}
        super().load_state_dict(state)


def check_same_run(path: str | Path, run: dict[str, Any]) -> None:
    """Refuse to resume `path` with settings other than those it was trained with; `run` is what
    RunState stores: {"config": TrainConfig fields, and facts of the data}."""
    stored_entry = read_checkpoint(path).get(RUN_KEY)
    if not isinstance(stored_entry, dict) or not isinstance(stored_entry.get("run"), str):
        raise ConfigError(
            f"{path}: holds no actrec run settings (written by another tool or an older actrec); train without --resume"
        )
    stored = json.loads(stored_entry["run"])
    current = json.loads(json.dumps(run, sort_keys=True))
    old_config, new_config = stored.get("config", {}), current.get("config", {})
    differing = [
        f"{key} {old_config.get(key)!r} (now {new_config.get(key)!r})"
        for key in sorted(set(old_config) | set(new_config))
        if key not in RESUMABLE_CHANGES and old_config.get(key) != new_config.get(key)
    ]
    differing += [
        f"{key} {stored.get(key)!r} (now {current.get(key)!r})"
        for key in sorted((set(stored) | set(current)) - {"config"})
        if stored.get(key) != current.get(key)
    ]
    if differing:
        raise ConfigError(
            f"{path}: cannot resume, it was trained with other settings: {'; '.join(differing)}; "
            "give the same options and data, or train without --resume"
        )
