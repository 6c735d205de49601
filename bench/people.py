"""Several people: detection + pose frames/s by number of people, and tracking identity switches.

    python bench/people.py [--video vtest.avi] [--frames 150] [--people 2,4,8,12] [--seeds 3]

1. Detection + pose on the first `--frames` frames of the video (OpenCV's vtest.avi: a fixed
   camera over a hall where up to ~8 people walk), what `actrec extract --people` runs per frame:
   motion proposals, MediaPipe pose on each upscaled crop, tracking. Frames are grouped by how
   many people were found; the table gives frames/s and the pose crops run per frame. Baseline in
   the same run: MediaPipe's single-person pose on the whole frame (`actrec extract` without
   --people), which finds no one in this wide shot.
2. Tracking on generated people walking across a 768x576 frame with known identities
   (`actrec.tracking.synthetic`: crossings, 10-20% missed detections, 2 px noise): identity
   switches (MOT definition, both directions), tracks made per true person, and time per update.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from actrec.extract.core import extract_video
from actrec.extract.people import PeoplePoser
from actrec.io.video import VideoReader
from actrec.tracking import Tracker
from actrec.tracking.synthetic import identity_switches, walking_people

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def detection_table(video: Path, n_frames: int) -> None:
    poser = PeoplePoser()
    by_people: dict[int, list[tuple[float, int]]] = defaultdict(list)
    try:
        with VideoReader(video) as reader:
            for frame in reader.frames(n_frames):
                crops = poser.crops_posed
                started = time.perf_counter()
                people = poser(frame)
                by_people[len(people)].append((time.perf_counter() - started, poser.crops_posed - crops))
    finally:
        poser.close()
    started = time.perf_counter()
    single = extract_video(video, "pose", max_frames=n_frames)
    single_fps = single.n_frames / (time.perf_counter() - started)
    total = sum(len(rows) for rows in by_people.values())
    seconds = sum(s for rows in by_people.values() for s, _ in rows)
    print(f"{video.name}, first {total} frames: detection + pose + tracking")
    print(f"{'people':>6} {'frames':>6} {'frames/s':>9} {'ms/frame':>9} {'crops/frame':>11}")
    for count in sorted(by_people):
        rows = by_people[count]
        median = statistics.median(s for s, _ in rows)
        print(f"{count:>6} {len(rows):>6} {1 / median:>9.2f} {1000 * median:>9.0f} {np.mean([c for _, c in rows]):>11.1f}")
    two_or_more = sum(len(rows) for count, rows in by_people.items() if count >= 2)
    print(f"all    {total:>6} {total / seconds:>9.2f} {1000 * seconds / total:>9.0f}   frames with >= 2 people: {two_or_more}/{total}")
    print(f"baseline: single-person pose on the whole frame {single_fps:.2f} frames/s, a pose on "
          f"{int(single.present.sum())}/{single.n_frames} frames; --people runs at {total / seconds / single_fps:.2f}x its speed")


def tracking_table(people_counts: list[int], seeds: int, frames: int) -> None:
    print(f"\ntracking: generated people walking ({frames} frames, {seeds} seeds each)")
    print(f"{'people':>6} {'missed':>6} {'switches':>8} {'tracks/person':>13} {'us/update':>9}")
    for count in people_counts:
        for miss_rate in (0.1, 0.2):
            switches, ratios, times = [], [], []
            for seed in range(seeds):
                walk = walking_people(count, frames, miss_rate=miss_rate, seed=seed)
                tracker = Tracker()
                started = time.perf_counter()
                predicted = [tracker.update(detections) for detections in walk.detections]
                times.append((time.perf_counter() - started) / frames)
                switches.append(identity_switches(walk.truth, predicted))
                ratios.append(len({i for ids in predicted for i in ids}) / len({p for people in walk.truth for p in people}))
            print(f"{count:>6} {miss_rate:>6.0%} {np.mean(switches):>8.1f} {np.mean(ratios):>13.2f} {1e6 * np.mean(times):>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=VTEST)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--people", default="2,4,8,12")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--track-frames", type=int, default=300)
    args = parser.parse_args()
    if args.video.is_file():
        detection_table(args.video, args.frames)
    else:
        print(f"{args.video} not found: detection + pose skipped (OpenCV's samples ship vtest.avi, e.g. Debian's opencv-doc)")
    tracking_table([int(n) for n in args.people.split(",")], args.seeds, args.track_frames)


if __name__ == "__main__":
    main()
