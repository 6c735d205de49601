"""Training progress shows in logs: one plain line per epoch when stderr is a file or a pipe."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from lightning.pytorch.callbacks import RichProgressBar

from actrec.training.callbacks import EpochLines, progress_bar

LINE = re.compile(r"^epoch (\d+)/3  train_loss \d+\.\d{4}  val_loss \d+\.\d{4}  val_acc [01]\.\d{4}  \d+\.\d s$")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_live_bar_anything_else_epoch_lines(monkeypatch):
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(progress_bar(Terminal()), RichProgressBar)
    assert isinstance(progress_bar(io.StringIO()), EpochLines)


def test_train_with_stderr_to_a_file_logs_every_epoch(waves_npz: Path, tmp_path: Path):
    log = tmp_path / "train.log"
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with open(log, "w") as stderr:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "actrec.cli",
                "train",
                "--data",
                str(waves_npz),
                "--out",
                str(tmp_path / "run"),
                "--model",
                "gru",
                "-o",
                "hidden_sizes=[8]",
                "-o",
                "dense=[]",
                "--epochs",
                "3",
                "--patience",
                "10",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            check=True,
            timeout=300,
        )
    lines = [line for line in log.read_text().splitlines() if line.startswith("epoch ")]
    assert [LINE.match(line) is not None for line in lines] == [True] * 3, log.read_text()[-2000:]
    assert [int(LINE.match(line).group(1)) for line in lines] == [1, 2, 3]
