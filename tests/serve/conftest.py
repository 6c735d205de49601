"""A tiny GRU trained on the generated waves, saved as a RUN folder, and a recorded CSV session
whose class changes every few seconds (so streaming it gives start/end events)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actrec.recognizers import Recognizer
from tests.helpers.waves import make_waves

pytest.importorskip("fastapi")
pytest.importorskip("httpx2")

RATE_HZ = 30.0
FEATURES = ["f0", "f1", "f2", "f3"]


def wave_session(classes: list[int], frames_each: int, seed: int, steps: int = 32) -> np.ndarray:
    """`[T, 4]` float32: back-to-back segments, each the sine rhythm `make_waves` gives its class."""
    rng = np.random.default_rng(seed)
    parts = []
    for label in classes:
        cycles_per_frame = (label + 1) * 2 / (steps - 1)
        phase = rng.uniform(0, 2 * np.pi, size=(1, len(FEATURES)))
        t = np.arange(frames_each)[:, None]
        parts.append(
            np.sin(2 * np.pi * cycles_per_frame * t + phase) + rng.normal(scale=0.3, size=(frames_each, len(FEATURES)))
        )
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture(scope="session")
def gru_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gru_run")
    dataset = make_waves(n=120)
    dataset.feature_names, dataset.sample_rate_hz = FEATURES, RATE_HZ
    Recognizer(model="gru", model_options={"hidden_sizes": [16], "dense": []}, epochs=20, lr=0.01, seed=0).fit(
        dataset
    ).save(folder)
    return folder


@pytest.fixture(scope="session")
def session_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    values = wave_session([0, 2, 1, 0, 2], frames_each=60, seed=1)
    table = pd.DataFrame(values, columns=FEATURES)
    table.insert(0, "time", np.arange(len(values)) / RATE_HZ)
    path = tmp_path_factory.mktemp("session") / "session.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def live_server(gru_run: Path):
    """`actrec serve` on a free loopback port in a thread (uvicorn, as the command runs it);
    yields (base URL, token) and stops the server afterwards."""
    import socket
    import threading
    import time

    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("websockets")
    from actrec.serve import ServeSettings, create_app

    token = "live-token"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app({"gru": Recognizer.load(gru_run)}, ServeSettings(token=token, idle_timeout_s=20))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=1 << 22))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()
