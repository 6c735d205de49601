"""Training: the fit loop (`fit.py`), its Lightning module, data, callbacks and checkpoints, and
the closed-form fit of kernel models (`kernels.py`).

What `actrec.runs` needs is here, so it can find checkpoints without importing Lightning."""

import os

LAST = "last.ckpt"  # the latest epoch (what ModelCheckpoint(save_last=True) writes)
BEST = "best.ckpt"  # the best epoch by the monitored validation metric


def is_launching_process() -> bool:
    """False in the worker processes a DDP launcher (Lightning's, torchrun, SLURM) starts: they
    announce a non-zero rank in the environment and must leave the run's files to rank 0."""
    return all(
        int(os.environ.get(key, "0") or 0) == 0
        for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")
    )
