"""Helpers for tests that stop a real `actrec train` process with a signal and resume it: start
it, wait (by polling its checkpoint, not sleeping) until it has finished some epochs, and compare
two RUN folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]


def start_train(data: Path, out: Path, options: list[str]) -> subprocess.Popen:
    """`actrec train --data DATA --out OUT OPTIONS` in a new process, output into OUT.log."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    log = open(log_path(out), "a")  # noqa: SIM115 (the child writes it; the file closes with this process)
    return subprocess.Popen(
        [sys.executable, "-m", "actrec.cli", "train", "--data", str(data), "--out", str(out), *options],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=env,
        preexec_fn=default_sigint,
    )


def default_sigint() -> None:
    """SIGINT back to its default in the child: a test suite started in the background (`make test &`,
    `nohup`, some CI runners) inherits SIGINT ignored, and Python then installs no Ctrl-C handler
    in the children, so the signal these tests send would be lost (seen as a run that publishes
    and exits 0 after its SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def log_path(out: Path) -> Path:
    return out.parent / f"{out.name}.log"


def finish(process: subprocess.Popen, out: Path) -> tuple[int, str]:
    code = process.wait(timeout=300)
    return code, log_path(out).read_text()


def epochs_saved(out: Path) -> int:
    """Finished epochs in `out`'s stopped-run checkpoint (0 if there is none)."""
    last = out / "partial" / "checkpoints" / "last.ckpt"
    return int(torch.load(last, weights_only=True)["epoch"]) + 1 if last.is_file() else 0


def wait_for_epochs(process: subprocess.Popen, out: Path, epochs: int) -> None:
    """Return once `out`'s stopped-run checkpoint holds at least `epochs` finished epochs."""
    last = out / "partial" / "checkpoints" / "last.ckpt"
    seen = None
    while process.poll() is None:
        stamp = last.stat().st_mtime_ns if last.is_file() else None
        if stamp is not None and stamp != seen:
            seen = stamp
            if epochs_saved(out) >= epochs:  # written whole (renamed into place)
                return
        time.sleep(0.02)
    pytest.fail(
        f"the run ended (exit {process.returncode}) before epoch {epochs} was checkpointed: {finish(process, out)[1][-1500:]}"
    )


def assert_same_run(run: Path, straight: Path) -> None:
    """Same metrics, history and (bit for bit) weights."""
    assert json.loads((run / "metrics.json").read_text()) == json.loads((straight / "metrics.json").read_text())
    assert (run / "history.csv").read_text() == (straight / "history.csv").read_text()
    weights, expected = load_file(run / "model.actrec"), load_file(straight / "model.actrec")
    assert weights.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(weights[name], expected[name], rtol=0, atol=0, msg=name)
