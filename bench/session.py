"""A live wrist session through the default model, end to end from the CLI: train on 250-step
windows, then stream a 15-minute 50 Hz session with `actrec stream --fast`, timed.

    python bench/session.py [--minutes 15] [--windows 1185]

1. `actrec train` on generated wrist-IMU windows (bench/sensor_windows.py: 250 steps x 6 channels,
   seven activities, 20 subjects), default model, seed 0: wall time of the whole command (the
   default's fit on 1185 x 250 x 6 is the issue-17 fit figure).
2. A session of the same generator for an unseen subject: activities in turn, 10 to 60 s each,
   written as `time,accel_x_g,...` CSV (45,000 rows for 15 minutes).
3. `actrec stream RUN --source csv:SESSION --fast --events ev.jsonl`: wall time of the whole command
   (start-up, reading, every frame, decisions, events), frames per second, and how many times faster
   than real time. Acceptance (issue 17): <= 30 s for 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensor_windows import ACTIVITIES, RATE_HZ, sensor_windows, subject, window

ACTREC = [sys.executable, "-m", "actrec.cli"]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def session_csv(path: Path, minutes: float, seed: int) -> int:
    """Activities in turn for one unseen subject; returns the number of rows."""
    rng = np.random.default_rng(seed)
    wearer = subject(99)
    total = int(minutes * 60 * RATE_HZ)
    parts, count = [], 0
    while count < total:
        steps = min(int(rng.uniform(10, 60) * RATE_HZ), total - count)
        parts.append(window(ACTIVITIES[rng.integers(len(ACTIVITIES))], wearer, steps, rng))
        count += steps
    values = np.concatenate(parts)
    times = np.arange(total) / RATE_HZ
    header = "time,accel_x_g,accel_y_g,accel_z_g,gyro_x_rad_s,gyro_y_rad_s,gyro_z_rad_s"
    np.savetxt(path, np.column_stack([times, values]), delimiter=",", header=header, comments="", fmt="%.6f")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--windows", type=int, default=1185)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="actrec-session-") as folder:
        folder = Path(folder)
        train = sensor_windows(args.windows, range(20), 250, seed=0)
        np.savez(
            folder / "train.npz",
            X=train.X,
            y=train.y,
            label_names=np.asarray(train.label_names, dtype=str),
            groups=np.asarray(train.groups, dtype=str),
        )
        fit_s = timed(
            ACTREC + ["train", "--data", str(folder / "train.npz"), "--out", str(folder / "run"), "--seed", "0"]
        )
        rows = session_csv(folder / "session.csv", args.minutes, seed=1)
        stream_s = timed(
            ACTREC
            + [
                "stream",
                str(folder / "run"),
                "--source",
                f"csv:{folder / 'session.csv'}",
                "--fast",
                "--events",
                str(folder / "ev.jsonl"),
            ]
        )
        events = len((folder / "ev.jsonl").read_text().splitlines())
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    print("| step | wall s | figure |")
    print("|---|---:|---|")
    print(f"| actrec train (default model, {args.windows} x 250 x 6) | {fit_s:.1f} | whole command |")
    print(
        f"| actrec stream --fast ({rows} frames, {args.minutes:g} min at 50 Hz) | {stream_s:.1f} | "
        f"{rows / stream_s:,.0f} frames/s, {rows / RATE_HZ / stream_s:.0f}x real time, {events} event lines |"
    )


if __name__ == "__main__":
    main()
