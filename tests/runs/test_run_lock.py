"""A run folder has one writer: while a process holds `RUN`'s lock (as a run building
`RUN/partial` does), `actrec train --out RUN` is refused in one line naming the holder (pid,
host) and leaves RUN as it was; once the holder is killed with SIGKILL, its stale lock is no
obstacle and the next run publishes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from actrec.cli import app as cli

HOLD = """
import sys, time
from pathlib import Path
from actrec.io.folder_lock import exclusive_folder
with exclusive_folder(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""

TRAIN = ["--model", "gru", "-o", "hidden_sizes=[8]", "-o", "dense=[]", "--epochs", "1", "--seed", "0"]


def holder(folder: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_run_on_a_locked_folder_is_refused_and_a_killed_holder_frees_it(waves_npz: Path, tmp_path: Path):
    out = tmp_path / "runs" / "mix"
    out.mkdir(parents=True)
    (out / "metrics.json").write_text('{"earlier": true}')
    process = holder(out)
    try:
        refused = CliRunner().invoke(cli, ["train", "--data", str(waves_npz), "--out", str(out)] + TRAIN)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    errors = [line for line in refused.output.splitlines() if line.startswith("error:")]
    assert refused.exit_code == 2 and len(errors) == 1, refused.output
    assert f"pid {process.pid} on {socket.gethostname()}" in errors[0] and str(out) in errors[0]
    assert (out / "metrics.json").read_text() == '{"earlier": true}' and not (out / "partial").exists()

    after_kill = CliRunner().invoke(cli, ["train", "--data", str(waves_npz), "--out", str(out)] + TRAIN)
    assert after_kill.exit_code == 0, after_kill.output
    assert (out / "model.actrec").is_file() and "earlier" not in (out / "metrics.json").read_text()
