"""Issue 22, item 4: `actrec stream RUN --source VIDEO --people` follows every person without
blocking the frame loop (a video replayed faster than people can be posed drops frames and counts
them; nothing queues without bound) and its summary gives the time of each stage, wall and CPU."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actrec.cli import app
from tests.helpers.keypoint_model import fit_keypoint_model
from tests.helpers.people_video import VTEST, needs_video

N_FRAMES = 30
pytestmark = needs_video
STAGE = r"{} (\d+\.\d) / (\d+\.\d)"  # "pose 31.2 / 29.8": ms a frame, wall / CPU


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return fit_keypoint_model(tmp_path_factory.mktemp("kp_run"))


def hall_video(path: Path, fps: float) -> Path:
    """vtest.avi's first N_FRAMES frames (several people walking in a hall), stamped at `fps`."""
    import cv2

    capture = cv2.VideoCapture(str(VTEST))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (768, 576))
    for _ in range(N_FRAMES):
        writer.write(capture.read()[1])
    writer.release()
    capture.release()
    return path


def stage_times(output: str, name: str) -> tuple[float, float]:
    found = re.search(STAGE.format(name), output)
    assert found is not None, f"no '{name}' stage in: {output}"
    return float(found.group(1)), float(found.group(2))


def test_people_stream_replayed_too_fast_drops_frames_and_times_every_stage(run_dir, tmp_path):
    # 300 frames/s: 0.1 s of video, far faster than posing several people (tens of ms a frame)
    video = hall_video(tmp_path / "hall.avi", fps=300.0)
    events = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        app, ["stream", str(run_dir), "--source", str(video), "--people", "--events", str(events)]
    )
    assert result.exit_code == 0, result.output
    counts = re.search(r"(\d+) frames, (\d+) recognized, (\d+) dropped under load", result.output)
    assert counts is not None, result.output
    frames, recognized, dropped = (int(group) for group in counts.groups())
    # every frame was read on time; those the recognizer could not take were dropped, and counted
    assert frames == N_FRAMES and dropped > 0 and recognized + dropped == frames
    stages = result.output[result.output.index("stages:") :]
    for name in ("decode", "detect", "pose", "wait", "track", "recognize", "in all"):
        stage_times(stages, name)
    # people were found and posed: the detector and the poses cost CPU on every recognized frame
    assert stage_times(stages, "detect")[1] > 0 and stage_times(stages, "pose")[1] > 0
    wall, cpu = stage_times(stages, "in all")
    assert wall >= stage_times(stages, "pose")[0] and cpu >= stage_times(stages, "detect")[1]


def test_people_stream_replayed_fast_recognizes_every_frame(run_dir, tmp_path):
    video = hall_video(tmp_path / "hall.avi", fps=300.0)
    result = CliRunner().invoke(app, ["stream", str(run_dir), "--source", str(video), "--people", "--fast"])
    assert result.exit_code == 0, result.output
    assert f"{N_FRAMES} frames, {N_FRAMES} recognized, 0 dropped under load" in result.output
    assert "followed now" in result.output  # the per-person streamer describes itself
    stage_times(result.output, "track")
