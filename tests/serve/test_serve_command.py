"""`actrec serve` as a command: a bad RUN is one line and exit 2; `--workers 2` serves streams
from two processes on one port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app as cli

pytest.importorskip("uvicorn")
pytest.importorskip("websockets")
from actrec.serve.client import StreamClient


def test_serving_a_missing_run_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such model file" in result.output


def test_a_bad_model_file_is_refused_before_serving_is_announced(tmp_path):
    (tmp_path / "broken.actrec").write_bytes(b"not a model")
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "broken.actrec")])
    assert result.exit_code == 2 and "not a readable actrec model" in result.output
    assert "serving" not in result.output


def test_two_worker_processes_serve_streams_on_one_port(gru_run: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), OMP_NUM_THREADS="1")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "actrec.cli",
            "serve",
            f"gru={gru_run}",
            "--port",
            str(port),
            "--workers",
            "2",
            "--max-sessions",
            "4",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        workers_up: set[int] = set()
        while len(workers_up) < 2:  # each worker answers /healthz with its own pid
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "two workers did not come up within 120 s"
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    workers_up.add(json.loads(response.read())["pid"])
            except OSError:
                time.sleep(0.5)
        frames = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
        with StreamClient(url, "gru") as client:
            decisions = [client.push(frame, index / 30.0) for index, frame in enumerate(frames)]
        assert [decision["seq"] for decision in decisions] == list(range(10))
    finally:
        server.terminate()
        server.wait(timeout=30)
