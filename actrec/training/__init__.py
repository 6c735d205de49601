"""Training: the fit loop (`fit.py`), its Lightning module, data, callbacks and checkpoints, and
the closed-form fit of kernel models (`kernels.py`).

The names of the checkpoint files are here so `actrec.run` can find them without importing
Lightning."""

LAST = "last.ckpt"  # the latest epoch (what ModelCheckpoint(save_last=True) writes)
BEST = "best.ckpt"  # the best epoch by the monitored validation metric
