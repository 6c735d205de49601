"""`actrec extract --ray`: videos spread over a local Ray head the test starts give the same
files as a local run, and a failing video is reported the same way."""

import importlib.util
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from tests.extract.test_extract import needs_video, write_clip

RAY = Path(sys.executable).parent / "ray"
pytestmark = [needs_video, pytest.mark.skipif(importlib.util.find_spec("ray") is None or not RAY.exists(), reason="Ray is not installed (actrec[cluster])")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def ray_head(monkeypatch):
    # Ray >= 2.59 authenticates with a token: the head and this process (the driver) share one
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
    port = free_port()
    # a short folder: Ray's Unix sockets live under it and socket paths stop at 107 characters
    folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    subprocess.run([str(RAY), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                    "--node-ip-address=127.0.0.1", f"--temp-dir={folder}", "--disable-usage-stats"],
                   check=True, capture_output=True, timeout=300)
    yield f"127.0.0.1:{port}"
    import ray

    ray.shutdown()
    subprocess.run([str(RAY), "stop", "--force"], capture_output=True, timeout=120)
    shutil.rmtree(folder, ignore_errors=True)


def test_extraction_over_ray_writes_the_files_a_local_run_writes(tmp_path, ray_head):
    for name, frames in (("a.avi", 5), ("b.avi", 7)):
        write_clip(tmp_path / "videos" / "walk" / name, frames)
    (tmp_path / "videos" / "walk" / "broken.avi").write_bytes(b"not a video")
    runner = CliRunner()
    local = runner.invoke(app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "local")])
    remote = runner.invoke(app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "remote"), "--ray", ray_head])
    assert local.exit_code == remote.exit_code == 2, remote.output
    assert "broken.avi" in remote.output and "2 of 3 videos" in remote.output
    for name in ("a", "b"):
        with np.load(tmp_path / "local" / "walk" / f"{name}.npz") as here, np.load(tmp_path / "remote" / "walk" / f"{name}.npz") as there:
            assert sorted(here.files) == sorted(there.files)
            for key in here.files:
                np.testing.assert_array_equal(here[key], there[key], err_msg=key)
    # resumable like a local run: finished outputs are skipped
    again = runner.invoke(app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "remote"), "--ray", ray_head])
    assert again.output.count("skip") == 2


def test_an_unreachable_cluster_is_one_line(tmp_path):
    write_clip(tmp_path / "videos" / "a.avi", 2)
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "out"), "--ray", f"127.0.0.1:{free_port()}"])
    assert result.exit_code != 0 and "--ray" in result.output and "Traceback" not in result.output
