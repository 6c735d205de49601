"""The status page at `/`, rendered by headless Chromium against a live server with one open
session: the session, its counters and events appear, and the screenshot shows its timeline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytest.importorskip("websockets")
from actrec.io.session import read_session
from actrec.serve.client import StreamClient

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium for the headless page test")


def chromium(url: str, profile: Path, *output: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1000,700",
        "--virtual-time-budget=3000",
    ]
    return subprocess.run([str(CHROMIUM), *flags, *output, url], capture_output=True, text=True, timeout=90)


def test_page_lists_open_sessions_with_their_timeline_and_events(live_server, session_csv, tmp_path):
    matplotlib_image = pytest.importorskip("matplotlib.image")
    url, token = live_server
    source = read_session(session_csv, ["f0", "f1", "f2", "f3"])
    page = f"{url}/#token={token}"
    with StreamClient(url, "gru", token=token) as client:
        events = []
        for time, values in zip(source.times[:150], source.values[:150]):
            events += client.push(values, float(time))["events"]
        session = client.opened["session"]
        dom = chromium(page, tmp_path / "profile-dom", "--dump-dom")
        shot = chromium(page, tmp_path / "profile-shot", f"--screenshot={tmp_path / 'page.png'}")
    assert dom.returncode == 0 and shot.returncode == 0, dom.stderr[-1000:] + shot.stderr[-1000:]
    assert events, "the stream should have started an event for the page to show"
    assert f'data-session="{session}"' in dom.stdout and "150 frames, 0 dropped, 0 errors" in dom.stdout
    assert f"start {events[0]['label']} at" in dom.stdout
    image = matplotlib_image.imread(tmp_path / "page.png")[..., :3]
    assert image.shape[:2] == (700, 1000)
    saturated = (image.max(axis=2) - image.min(axis=2)) > 0.3  # class colours: the page is grey otherwise
    assert saturated.sum() > 500
