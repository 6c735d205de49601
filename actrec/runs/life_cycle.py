"""The life cycle of a RUN folder, shared by sequence and clip runs: built in RUN/partial under a
lock, published into RUN only when it finished (so a failed or stopped run never replaces an
earlier result), its checkpoints kept for `--resume` when training stops."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from actrec.errors import ActrecError, ConfigError, TrainingInterrupted
from actrec.io.folder_lock import exclusive_folder
from actrec.training import BEST, LAST, is_launching_process

PARTIAL = "partial"  # RUN/partial: the run being built; its checkpoints outlive a crash
ResultT = TypeVar("ResultT")


@dataclass
class RunResult:
    """Metrics of a finished run (from `compute_metrics`), how many processes trained it, and
    warnings about the splits a person should read."""

    val: dict[str, Any]
    test: dict[str, Any]
    processes: int
    notes: list[str]

    def splits(self) -> dict[str, dict[str, Any]]:
        return {"val": self.val, "test": self.test}


def build_in_partial(
    out: str | Path, resume_from: str | Path | None, train_into: Callable[[Path, Path | None], ResultT | None]
) -> ResultT | None:
    """Run `train_into(partial folder, checkpoint to resume or None)` in `out/partial` and publish
    what it leaves there into `out` if it returns a result (None: a DDP worker, nothing to
    publish); sequence and clip runs share this life cycle.

    `train_into` writes its checkpoints to `partial/checkpoints`. When it raises, the partial
    folder stays if it holds a checkpoint to resume (a stop, a crash), and is removed after an
    `ActrecError` (bad input or options) of a new run, so a failed run never replaces anything.
    The folder is locked meanwhile (`io/folder_lock.py`): a second run on it is refused in one line.
    """
    out = Path(out)
    partial = out / PARTIAL
    resume = resume_checkpoint(resume_from) if resume_from is not None else None
    if not is_launching_process():  # a DDP worker: rank 0 owns the folder
        return train_into(partial, resume)
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_folder(out):  # a second run on this --out is refused, naming this one
        continuing = resume is not None and resume.resolve().parent == (partial / "checkpoints").resolve()
        _prepare_partial(partial, resume)
        try:
            result = train_into(partial, resume)
        except KeyboardInterrupt:  # Ctrl-C outside the fit (data, evaluation, report): same one line
            checkpoint = partial / "checkpoints" / LAST
            resumable = checkpoint.is_file()
            if not resumable:
                shutil.rmtree(partial, ignore_errors=True)
            how = (
                f"after its last epoch, before the run was published (checkpoint {checkpoint})"
                if resumable
                else "before its first epoch ended"
            )
            raise TrainingInterrupted(
                f"training stopped by SIGINT {how}", "SIGINT", str(checkpoint) if resumable else None
            ) from None
        except BaseException as error:
            resumable = (partial / "checkpoints" / LAST).is_file()
            # bad input or options: nothing worth resuming, unless the checkpoints were there before
            clean_failure = (
                isinstance(error, ActrecError) and not isinstance(error, TrainingInterrupted) and not continuing
            )
            if clean_failure or not resumable:
                shutil.rmtree(partial, ignore_errors=True)
            raise
        if result is not None:
            publish(partial, out)
            shutil.rmtree(partial)
        return result


def resume_checkpoint(path: str | Path) -> Path:
    """What `--resume` names: a .ckpt file, or a RUN folder: its stopped run
    (RUN/partial/checkpoints/last.ckpt) if there is one, else its finished run's last epoch
    (RUN/checkpoints/last.ckpt), which further epochs extend."""
    path = Path(path)
    if path.is_file():
        return path
    for candidate in (path / PARTIAL / "checkpoints" / LAST, path / "checkpoints" / LAST, path / LAST):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"{path}: nothing to resume (no {PARTIAL}/checkpoints/{LAST} nor checkpoints/{LAST}); give the RUN folder of a "
        "stopped or finished neural run, or one of its .ckpt files"
    )


def _prepare_partial(partial: Path, resume: Path | None) -> None:
    """Empty `partial` for this run, keeping the checkpoints a resume continues; resuming from
    another folder, that folder's best epoch is copied in (later epochs must beat it)."""
    checkpoints = partial / "checkpoints"
    if resume is not None and resume.resolve().parent == checkpoints.resolve():
        for entry in partial.iterdir():
            if entry.name == "checkpoints":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for stray in checkpoints.glob(".*.tmp"):  # a write cut short by a kill
            stray.unlink()
        return
    source = None if resume is None else resume.resolve().parent
    if source is not None and (source == partial.resolve() or partial.resolve() in source.parents):
        raise ConfigError(f"{resume}: resume from {checkpoints / LAST} or give the RUN folder")
    shutil.rmtree(partial, ignore_errors=True)
    checkpoints.mkdir(parents=True)
    if source is not None and (source / BEST).is_file():
        shutil.copy2(source / BEST, checkpoints / BEST)


def publish(staging: Path, out: Path) -> None:
    """Move a finished run's files over the old ones; until this point the old run is untouched."""
    for entry in staging.iterdir():
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
