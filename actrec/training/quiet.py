"""Keep Lightning's start-up banners and tips out of actrec's output."""

from __future__ import annotations

import logging
import warnings


def quiet_lightning() -> None:
    """Lightning's start-up banners and tips drown the report; keep its warnings and errors."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*litlogger.*")
    # a resumed run writes on into the checkpoint folder it continues, on purpose
    warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
