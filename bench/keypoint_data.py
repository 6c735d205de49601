"""Speed of the keypoint data path: simulating recordings, cutting windows, computing features.

Each figure is printed with its ratio to real time (seconds of 30 fps video handled per second of
wall time), measured in the same run, so the numbers compare across machines.

    python bench/keypoint_data.py [--recordings 40] [--duration 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from actrec.data.segments import windows_from_segments
from actrec.data.synthetic import generate_recordings, write_synthetic
from actrec.features import FeaturePipeline
from actrec.features.keypoints import keypoint_steps


def timed(action):
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=40)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    video_seconds = args.recordings * args.duration

    _, generate_s = timed(lambda: generate_recordings(args.recordings, args.seed, duration_s=args.duration))
    with tempfile.TemporaryDirectory() as folder:
        out, write_s = timed(
            lambda: write_synthetic(Path(folder), args.recordings, args.seed, duration_s=args.duration)
        )
        dataset, window_s = timed(
            lambda: windows_from_segments(out / "recordings", out / "segments.csv", window=30, stride=10)
        )
    pipeline = FeaturePipeline(keypoint_steps(dataset.schema))
    features, feature_s = timed(lambda: pipeline.fit_transform(dataset.X, dataset.lengths))
    window_frames = int(dataset.lengths.sum())

    print(f"{args.recordings} recordings x {args.duration:g} s = {video_seconds:g} s of 30 fps video")
    print(f"simulate            {generate_s:7.2f} s   {video_seconds / generate_s:8.0f}x real time")
    print(f"simulate + write    {write_s:7.2f} s   {video_seconds / write_s:8.0f}x real time")
    print(f"windows (30/10)     {window_s:7.2f} s   {dataset.n_samples} windows")
    print(
        f"keypoint features   {feature_s:7.2f} s   {window_frames / 30 / feature_s:8.0f}x real time "
        f"({features.shape[-1]} features per frame, {np.float32(window_frames) / feature_s:.0f} frames/s)"
    )


if __name__ == "__main__":
    main()
