"""Several people: frames/s end to end, stage by stage and by number of people, against MediaPipe
single-person pose on the same frames; and tracking identity switches against the tracker without
appearance, on generated walkers hidden by pillars.

    python bench/people.py [--video vtest.avi] [--frames 150] [--finders detector,motion] [--people 4,8,12] [--seeds 3]

1. `actrec extract --people` per frame on the first `--frames` frames of the video (OpenCV's
   vtest.avi: a fixed camera over a hall where up to ~8 people walk, about 90 px tall): decoding,
   people found (BlazePose's detector on 288 px tiles, one a frame; or background subtraction),
   poses (BlazePose's landmark model every 3 frames per person, moved by their velocity between),
   tracking. Frames/s is wall-clock on this machine with its load (printed beside it), and CPU
   time per frame (what one free core would give) and per stage (CPU time of the thread that
   ran it, which the machine's load hardly changes); the acceptance asks >= 15 frames/s with >= 2
   people on >= 90% of the frames and <= 12 tracks (tracks of at least `min_track_frames`
   frames, as `actrec extract` keeps), checked against the hand-labelled frames of
   tests/extract/data/vtest_people.json (each labelled person found, no track on two of them).
   Baseline in the same run: MediaPipe's single-person pose on the whole frame (`actrec extract`
   without --people), which finds no one in this wide shot.
2. Tracking on generated people walking across a 768x576 frame with known identities
   (`actrec.tracking.synthetic`: crossings, 10% missed detections, pillars hiding people for 15-50
   frames): identity switches (MOT definition, both directions) and ids per true person, for the
   tracker as it was (no appearance, no re-identification), as it is by default, and as
   `extract --people` sets it (tracks confirmed after 3 matches), on the same sequences.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from actrec.extract.core import extract_video
from actrec.extract.people import CPU_STAGES, PeopleConfig, PeoplePoser
from actrec.io.video import VideoReader
from actrec.tracking import Tracker, TrackerConfig
from actrec.tracking.synthetic import identity_switches, ids_per_person, walking_people

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
LABELS = Path(__file__).resolve().parent.parent / "tests" / "extract" / "data" / "vtest_people.json"
NEAR_PX = 30  # a track is a labelled person if its joints' median lies this close to their torso
TODAY = TrackerConfig(reid_frames=0, max_appearance_distance=1.0)  # the tracker before appearance cues
TRACKERS = {"before": TODAY, "now": TrackerConfig(), "people": PeopleConfig().tracking}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def detection_table(video: Path, n_frames: int, finder: str, tiles: tuple[int, int] | None = None) -> float:
    """Prints the tables of one finder (`tiles`: tiles a frame and their side, instead of the
    defaults); returns its end-to-end frames/s."""
    config = PeopleConfig(finder=finder)
    if tiles is not None:
        config = dataclasses.replace(config, tiles_per_frame=tiles[0], tile_px=tiles[1])
    by_people: dict[int, list[float]] = defaultdict(list)
    seen: dict[int, int] = defaultdict(int)
    labelled = json.loads(LABELS.read_text())["frames"] if video == VTEST and LABELS.is_file() else {}
    at_labels: dict[int, dict[int, np.ndarray]] = {}
    decode = 0.0  # CPU seconds of the main thread decoding
    two_cores = 0.0  # what the frames would take on two free cores: PeoplePoser.last_frame_cpu + decoding
    started, cpu_started, load_before = time.perf_counter(), time.process_time(), load()
    with PeoplePoser(config) as poser, VideoReader(video) as reader:
        frames = reader.frames(n_frames)
        index = 0
        while True:
            decode_started = time.thread_time()
            frame = next(frames, None)
            decode += time.thread_time() - decode_started
            if frame is None:
                break
            frame_started = time.perf_counter()
            people = poser(frame)
            by_people[len(people)].append(time.perf_counter() - frame_started)
            before_wait, finder_cpu, _ = poser.last_frame_cpu  # the main thread's CPU time includes both of its parts
            two_cores += time.thread_time() - decode_started - before_wait + max(before_wait, finder_cpu)
            for track in people:
                seen[track] += 1
            if str(index) in labelled:
                at_labels[index] = {track: np.nanmedian(found[:, :2], axis=0) for track, found in people.items()}
            index += 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    total = sum(len(rows) for rows in by_people.values())
    person_frames = sum(count * len(rows) for count, rows in by_people.items())
    print(
        f"\n{video.name}, first {total} frames, finder '{finder}'"
        + (f", {config.tiles_per_frame} tiles of {config.tile_px} px a frame" if finder != "motion" else "")
        + f" ({load_before} before, {load()} after)"
    )
    print(f"{'people':>6} {'frames':>6} {'frames/s':>9} {'ms/frame':>9}   (median, without decoding)")
    for count in sorted(by_people):
        median = statistics.median(by_people[count])
        print(f"{count:>6} {len(by_people[count]):>6} {1 / median:>9.1f} {1000 * median:>9.1f}")
    fps = total / seconds
    print(
        f"end to end: {fps:.1f} frames/s wall, {1000 * cpu / total:.0f} ms CPU a frame (one free core: {total / cpu:.1f} frames/s; "
        f"two free cores, from each thread's CPU time with the finder beside the poses: {total / two_cores:.1f} frames/s)"
    )
    stages = {"decode": decode, **poser.cpu_seconds}
    print(
        "stages, CPU ms a frame: "
        + ", ".join(f"{name} {1000 * stages[name] / total:.1f}" for name in ("decode", *CPU_STAGES))
        + f" (detect runs in its own thread beside pose; the main thread waited for it {1000 * poser.seconds['wait'] / total:.1f} ms a frame)"
    )
    pose_cpu = poser.cpu_seconds["pose"]
    print(
        f"poses: {poser.poses / total:.2f} a frame; {1000 * pose_cpu / max(poser.poses, 1):.1f} ms CPU each; "
        f"{1000 * pose_cpu / max(person_frames, 1):.1f} ms CPU per person per frame ({person_frames / total:.1f} people a frame)"
    )
    two_or_more = sum(len(rows) for count, rows in by_people.items() if count >= 2)
    kept = sum(1 for frames_seen in seen.values() if frames_seen >= config.min_track_frames)
    print(
        f"frames with >= 2 people: {two_or_more}/{total} ({two_or_more / total:.0%}); tracks: {kept} of >= "
        f"{config.min_track_frames} frames ({len(seen)} in all); re-identified: {poser.tracker.reidentified}"
    )
    if at_labels:
        print(hand_labelled(labelled, at_labels))
    return fps


def hand_labelled(labelled: dict[str, dict[str, list[float]]], found: dict[int, dict[int, np.ndarray]]) -> str:
    """How many hand-labelled people a track lay on (within NEAR_PX, one track a person), and how
    many tracks lay on two different people across the labelled frames (identity switches)."""
    hits, total = 0, 0
    person_of: dict[int, str] = {}
    switched = set()
    for frame, people in labelled.items():
        tracks = found.get(int(frame), {})
        names, ids = list(people), list(tracks)
        total += len(names)
        if not ids:
            continue
        gap = np.array([[np.linalg.norm(tracks[t] - np.array(people[n])) for t in ids] for n in names])
        for row, col in zip(*linear_sum_assignment(gap)):
            if gap[row, col] <= NEAR_PX:
                hits += 1
                if person_of.setdefault(ids[col], names[row]) != names[row]:
                    switched.add(ids[col])
    return (
        f"hand-labelled frames {', '.join(labelled)}: {hits}/{total} labelled people on a track, "
        f"{len(switched)} tracks on two people"
    )


def baseline(video: Path, n_frames: int) -> None:
    started = time.perf_counter()
    single = extract_video(video, "pose", max_frames=n_frames)
    fps = single.n_frames / (time.perf_counter() - started)
    print(
        f"\nbaseline: MediaPipe single-person pose on the whole frame, {fps:.1f} frames/s ({load()}), "
        f"a pose on {int(single.present.sum())}/{single.n_frames} frames"
    )


def tracking_table(people_counts: list[int], seeds: int, frames: int) -> None:
    print(
        f"\ntracking: generated people walking ({frames} frames, 10% missed, {seeds} seeds each); "
        "switches and ids per person: the tracker before appearance cues | now (defaults) | "
        "as extract --people sets it (stricter matching, tracks confirmed after 3 matches)"
    )
    print(f"{'people':>6} {'pillars':>7} {'switches':>21} {'ids/person':>21} {'us/update':>9}")
    for count in people_counts:
        for pillars in (0, 2, 4):
            rows: dict[str, list[tuple[int, float]]] = {name: [] for name in TRACKERS}
            times = []
            for seed in range(seeds):
                walk = walking_people(count, frames, pillars=pillars, seed=seed)
                for name, config in TRACKERS.items():
                    tracker = Tracker(config)
                    started = time.perf_counter()
                    predicted = [tracker.update(detections) for detections in walk.detections]
                    if name == "now":
                        times.append((time.perf_counter() - started) / frames)
                    rows[name].append((identity_switches(walk.truth, predicted), ids_per_person(walk.truth, predicted)))
            switches = " | ".join(f"{np.mean([s for s, _ in rows[name]]):5.1f}" for name in rows)
            ids = " | ".join(f"{np.mean([i for _, i in rows[name]]):5.2f}" for name in rows)
            print(f"{count:>6} {pillars:>7} {switches:>21} {ids:>21} {1e6 * np.mean(times):>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=VTEST)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--finders", default="detector,motion")
    parser.add_argument("--people", default="4,8,12")
    parser.add_argument(
        "--tiles",
        default="",
        help="also the detector with TILES_PER_FRAME x TILE_PX, e.g. 2x256 (more people found, more CPU)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--track-frames", type=int, default=300)
    args = parser.parse_args()
    if args.video.is_file():
        for finder in args.finders.split(","):
            detection_table(args.video, args.frames, finder)
        if args.tiles:
            count, side = (int(part) for part in args.tiles.split("x"))
            detection_table(args.video, args.frames, "detector", (count, side))
        baseline(args.video, args.frames)
    else:
        print(
            f"{args.video} not found: detection + pose skipped (OpenCV's samples ship vtest.avi, e.g. Debian's opencv-doc)"
        )
    tracking_table([int(n) for n in args.people.split(",")], args.seeds, args.track_frames)


if __name__ == "__main__":
    main()
