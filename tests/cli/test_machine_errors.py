"""The machine failing under a command is one line naming the path and the fix, exit code 2, and
nothing partial or earlier lost: a file size limit (`ulimit -f`, EFBIG) under `train` (checkpoints
and model) and `predict` (its CSV), and a folder the process may not write (EACCES) under
`predict`. The commands run in subprocesses: the limit is the process's own."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers.waves import make_waves

TRAIN = ["--model", "gru", "-o", "hidden_sizes=[8]", "-o", "dense=[]", "--epochs", "2", "--seed", "0"]


def actrec(args: list[str], file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), OMP_NUM_THREADS="1", COLUMNS="80")
    return subprocess.run(
        [sys.executable, "-m", "actrec.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=limit,
        timeout=600,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and "Traceback" not in output, output[-3000:]
    return errors[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("machine")
    data = folder / "waves.npz"
    make_waves(n=60).to_npz(str(data))
    run = folder / "run"
    assert actrec(["train", "--data", str(data), "--out", str(run)] + TRAIN).returncode == 0
    return data, run


def test_train_under_a_file_size_limit_is_one_line_and_keeps_the_earlier_run(trained):
    data, run = trained
    before = {path.name: path.read_bytes() for path in run.iterdir() if path.is_file()}
    line = one_error_line(actrec(["train", "--data", str(data), "--out", str(run)] + TRAIN, file_size_limit=4096))
    assert "File too large" in line and "ulimit -f" in line and str(run) in line
    assert {path.name: path.read_bytes() for path in run.iterdir() if path.is_file()} == before
    assert not list(run.rglob(".*.tmp"))


def test_predict_under_a_file_size_limit_is_one_line_and_writes_nothing(trained, tmp_path):
    data, run = trained
    out = tmp_path / "predictions.csv"
    line = one_error_line(actrec(["predict", str(run), "--data", str(data), "--out", str(out)], file_size_limit=256))
    assert line.startswith(f"error: {out}: File too large")
    assert list(tmp_path.iterdir()) == []


def test_predict_into_a_folder_it_may_not_write_is_one_line(trained):
    try:
        os.close(tempfile.mkstemp(dir="/sys")[0])
        pytest.skip("this machine lets the test write in /sys")
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
            pytest.skip(f"/sys refuses writes with {errno.errorcode[error.errno]}, not a permission error")
    data, run = trained
    line = one_error_line(actrec(["predict", str(run), "--data", str(data), "--out", "/sys/predictions.csv"]))
    assert line.startswith("error: /sys/") and "write elsewhere" in line
