"""Frames/s of actrec's keypoint extraction against a bare MediaPipe loop on the same frames.

    python bench/extract.py [--video vtest.avi] [--frames 150] [--rounds 3]

Three ways through the first `--frames` frames of the video, each run `--rounds` times in turn
(median kept), each timed from opening the video to the last frame, model set-up included:
  bare      cv2.VideoCapture.read + cvtColor + mp.solutions.pose.Pose(model_complexity=1).process
  core      actrec.extract.core.extract_video (the per-frame loop, into a Recording)
  command   actrec.jobs.extract_videos.extract_videos, what `actrec extract` runs: planning, progress
            bar, the loop and the compressed .npz write
Run twice: on the whole frame (MediaPipe finds no one: the people in vtest.avi are small) and
cropped to where two people walk (a skeleton on almost every frame, so landmarks are converted).
Rounds alternate the order of the three. Overhead = actrec time / bare time - 1, on wall time and
on CPU time (this process, all threads; steadier than wall time on a shared machine); the target
is at most 10%.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from actrec.extract.core import Crop, extract_video
from actrec.extract.detectors import import_solutions
from actrec.io.video import import_cv2
from actrec.jobs.extract_videos import extract_videos

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
PEOPLE = Crop(540, 180, 228, 256)


def bare_loop(video: Path, n_frames: int, crop: Crop | None) -> int:
    """The reference: MediaPipe's documented loop, nothing else. Returns frames with a pose."""
    cv2, solutions = import_cv2(), import_solutions()
    capture = cv2.VideoCapture(str(video))
    detected = 0
    with solutions.pose.Pose(model_complexity=1) as pose:
        for _ in range(n_frames):
            ok, frame = capture.read()
            if not ok:
                break
            if crop is not None:
                frame = frame[crop.y : crop.y + crop.height, crop.x : crop.x + crop.width]
            detected += pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).pose_landmarks is not None
    capture.release()
    return detected


def core_loop(video: Path, n_frames: int, crop: Crop | None) -> int:
    return int(extract_video(video, "pose", crop=crop, max_frames=n_frames).present.sum())


def command_loop(video: Path, n_frames: int, crop: Crop | None) -> int:
    with tempfile.TemporaryDirectory() as out:
        console = Console(file=io.StringIO(), force_terminal=True, width=100)
        (outcome,) = extract_videos(video, out, "pose", crop=crop, max_frames=n_frames, console=console)
    return outcome.detected


def timed(
    run: Callable[[Path, int, Crop | None], int], video: Path, n_frames: int, crop: Crop | None
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process (all MediaPipe threads) and frames with a pose."""
    wall, cpu = time.perf_counter(), time.process_time()
    detected = run(video, n_frames, crop)
    return time.perf_counter() - wall, time.process_time() - cpu, detected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=VTEST)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runs = {"bare": bare_loop, "core": core_loop, "command": command_loop}
    for label, crop in (("whole frame", None), (f"crop {PEOPLE.x},{PEOPLE.y},{PEOPLE.width},{PEOPLE.height}", PEOPLE)):
        wall: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        detected: dict[str, int] = {}
        for round_index in range(args.rounds):
            order = list(runs) if round_index % 2 == 0 else list(runs)[::-1]
            for name in order:
                elapsed, used, detected[name] = timed(runs[name], args.video, args.frames, crop)
                wall[name].append(elapsed)
                cpu[name].append(used)
        print(f"{args.video.name}, first {args.frames} frames, {label}, median of {args.rounds} rounds:")
        bare_wall, bare_cpu = statistics.median(wall["bare"]), statistics.median(cpu["bare"])
        for name in runs:
            median_wall, median_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
            overhead = (
                ""
                if name == "bare"
                else (
                    f"  overhead: wall {100 * (median_wall / bare_wall - 1):+.1f}%, "
                    f"CPU {100 * (median_cpu / bare_cpu - 1):+.1f}%"
                )
            )
            print(
                f"  {name:8s} {args.frames / median_wall:6.1f} frames/s wall, {args.frames / median_cpu:6.1f} "
                f"frames per CPU-s (poses on {detected[name]}/{args.frames}){overhead}"
            )


if __name__ == "__main__":
    main()
