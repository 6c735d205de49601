"""Generated clip folders shared by the clip tests in every folder (tiny: 24 px, 16 frames): a pytest
plugin the root conftest loads, so the session builds each folder once."""

from __future__ import annotations

from pathlib import Path

import pytest

from actrec.data.synthetic_clips import write_synthetic_clips

NEEDS_OPENCV = "clip tests decode video with OpenCV (pip install 'actrec[clips]')"

MOTIONS = ("left", "right")
# what every tiny network trains with in the tests: about 5-10 s each on one thread; small
# batches matter more than epochs here (more optimiser steps from the same 90 clips)
TINY = {"width": 8, "depth": 10, "dropout": 0.0}
TINY_CLIP = {"size": 24, "frames": 8, "stride": 2, "jitter": 0.0}
TINY_TRAINING = {"epochs": 10, "batch_size": 4, "lr": 2e-3, "patience": 10}


@pytest.fixture(scope="session")
def motion_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 motion-only classes (left, right) x 60 clips."""
    pytest.importorskip("cv2", reason=NEEDS_OPENCV)
    return write_synthetic_clips(
        tmp_path_factory.mktemp("clips") / "motion", per_class=60, size=24, classes=MOTIONS, seed=1
    )


@pytest.fixture(scope="session")
def shape_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 shape classes x 80 clips (random straight motions): one frame tells the class. Disc vs
    ring, because a tiny TSN held out 0.95 of them but 0.55 of square vs triangle (80 each)."""
    pytest.importorskip("cv2", reason=NEEDS_OPENCV)
    return write_synthetic_clips(
        tmp_path_factory.mktemp("clips") / "shape", per_class=80, size=24, classes=("disc", "ring"), seed=2
    )
