"""Shared fixtures; the data generators live in tests/helpers/waves.py, which tests import as `tests.helpers.waves`
(pyproject puts the project root on pytest's path, so bare `pytest` finds it too)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# helper modules that assert: pytest rewrites their asserts too, so a failure shows the values
pytest.register_assert_rewrite("tests.helpers")

from tests.helpers.waves import make_waves  # noqa: E402

# the generated clip folders (`motion_clips`, `shape_clips`) every clip test folder shares
pytest_plugins = ["tests.helpers.clip_data"]

torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def waves_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "waves.npz"
    make_waves().to_npz(str(path))
    return path


@pytest.fixture(scope="session")
def ray_head():
    """A private Ray head (tests/helpers/ray_head.py) shared by every Ray test of the run (extract, predict,
    serve): started by the first that asks, stopped at the end; yields its address. One head, not
    one per module: starting one takes 10-15 s on a loaded 2-core machine."""
    from tests.helpers.ray_head import running_head

    with running_head() as address:
        yield address
