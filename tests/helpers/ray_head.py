"""A private single-node Ray head for the Ray tests: started as a child process in its own
session (process group), with its own temp folder, ports and auth token, and stopped by signalling
that group only. Never `ray stop`: it kills every Ray process on the machine, including another
test run's head.

The `ray_head` fixture (tests/conftest.py) wraps `running_head` once per test session."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

RAY = Path(sys.executable).parent / "ray"
READY_LINE = "block forever"  # `ray start --block` prints it once every process is up
START_TIMEOUT_S = 180.0  # a loaded 2-core machine starts a head in 10-40 s
STOP_TIMEOUT_S = 30.0
TOKEN = secrets.token_hex(16)  # one per test process: Ray caches the token a driver first reads


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def skip_without_ray(serve: bool = False) -> None:
    """Skip the calling test module when Ray (or Ray Serve) cannot be imported or has no CLI."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'actrec[cluster]')")
    pytest.importorskip("psutil", reason="stopping the test's Ray head needs psutil (pip install 'actrec[serve]')")
    if serve:
        pytest.importorskip("ray.serve", reason="Ray Serve is not installed (pip install 'actrec[cluster]')")
    if not RAY.exists():
        pytest.skip(f"Ray's command line tool is not next to {sys.executable}", allow_module_level=True)


@contextmanager
def running_head(num_cpus: int = 2) -> Iterator[str]:
    """Start a head, yield its address (`127.0.0.1:PORT`) with this process's environment set up to
    connect to it (RAY_AUTH_TOKEN), and stop it and every process it started afterwards."""
    # a short folder: Ray's Unix sockets live under it and socket paths stop at 107 characters
    folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    port = free_port()
    ports = {
        name: free_port()
        for name in (
            "ray-client-server-port",
            "node-manager-port",
            "object-manager-port",
            "dashboard-agent-listen-port",
            "dashboard-agent-grpc-port",
            "metrics-export-port",
            "runtime-env-agent-port",
        )
    }
    command = [
        str(RAY),
        "start",
        "--head",
        "--block",
        f"--port={port}",
        f"--num-cpus={num_cpus}",
        "--include-dashboard=false",
        "--node-ip-address=127.0.0.1",
        f"--temp-dir={folder}",
        f"--dashboard-port={free_port()}",
        "--disable-usage-stats",
        "--min-worker-port=0",
        "--max-worker-port=0",
        *(f"--{name}={value}" for name, value in ports.items()),
    ]
    with pytest.MonkeyPatch.context() as patch:
        # Ray >= 2.59 authenticates with a token: the head and this process (the driver) share one
        patch.setenv("RAY_AUTH_MODE", "token")
        patch.setenv("RAY_AUTH_TOKEN", TOKEN)
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        patch.setenv("RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "0")  # a test head has nothing to drain
        if "ray" in sys.modules:
            # Ray reads the auth mode when imported (e.g. by a skip check): make it read it again
            from ray._private.authentication_test_utils import reset_auth_token_state

            reset_auth_token_state()
        log_path = Path(folder) / "head.log"
        with open(log_path, "wb") as log:
            head = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_stop_with_parent,
            )
        try:
            _wait_until_ready(head, log_path)
            yield f"127.0.0.1:{port}"
        finally:
            import ray

            ray.shutdown()
            _stop(head)
            shutil.rmtree(folder, ignore_errors=True)


def _stop_with_parent() -> None:
    """In the head's process, before `ray start` runs: on Linux, get SIGTERM when the test process
    dies, so a killed test run leaves no head behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_until_ready(head: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while READY_LINE not in log_path.read_text(errors="replace"):
        if head.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the test's Ray head did not start (exit code {head.poll()}):\n{tail}")
        time.sleep(0.2)


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM `ray start --block`, which stops the processes it started; SIGKILL whatever of them
    (workers run in their own process groups) or of its group is left after STOP_TIMEOUT_S."""
    import psutil

    try:
        descendants = psutil.Process(head.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    head.terminate()
    try:
        head.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        head.kill()
        head.wait(timeout=10)
    _, alive = psutil.wait_procs(descendants, timeout=STOP_TIMEOUT_S)
    for process in alive:
        process.kill()  # psutil checks the pid still names the process we saw
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGKILL)  # the head led its own group: nothing else is in it
