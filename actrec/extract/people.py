"""Several people per frame: found by a learned person detector (or by motion, for a fixed
camera), posed with a light landmark model on each person's region, followed by the tracker.

Measured on OpenCV's vtest.avi (768x576, people about 90 px tall; bench/people.py):
- MediaPipe's `Pose` solution follows one person and finds nobody in this wide shot; posing a
  crop through it costs a whole graph run (about 0.1 s a person).
- MediaPipe's BlazePose person detector and landmark model, run directly through LiteRT
  (`extract.blazepose`), cost about 15 ms a detector pass and 20 ms a pose (crop included) of
  one core's CPU time. The detector needs people at least a fifth of its 224 px input, so it
  looks at 288 px tiles of the frame, one tile a frame in turn (the whole frame is covered every
  13 frames), and independently of camera motion: a person standing still or a panning camera
  are found as well as walkers. The choice trades people found for CPU: on vtest.avi's first
  150 frames (bench/people.py --tiles 2x256, load ~7.5) one 288 px tile a frame follows 3.0
  people a frame for 51 ms CPU a frame, two 256 px tiles 3.7 for 85 ms (both with >= 2 people
  on >= 93% of frames and the same hand-labelled people found); two 224 px tiles (21 to cover
  the frame) 3.5.
- A followed person is posed again only every `pose_every` frames (staggered across people, so the
  cost per frame is even), from the region their last pose gives, moved by the velocity of their
  hips (steadier than a box's, which a raised arm shifts); between poses their keypoints move with
  that velocity. A followed person who is not found where expected is looked for again every
  `pose_every` frames until the tracker ends them (`TrackerConfig.max_missed` looks), then may be
  re-identified by their clothes' colours.
- A new person is reported only once three poses in a row confirmed them (`confirm_hits`); then
  they are first compared with the people looked for and not found: a person lost in a group, or
  who turned round, is often found again by the detector before their track runs out of looks,
  and keeps their id if near and alike (by a margin over any other candidate). On vtest.avi's
  first 150 frames, tiles unchanged, this made 9 tracks instead of 13 (one run), with the same
  hand-labelled people found and no track on two of them.
- A pose counts as the expected person only if its hips lie near the region's centre
  (`max_hip_shift`): in a group the region also holds a neighbour, whom the model may pose instead.
So the cost per frame is bounded: `tiles_per_frame` detector runs plus about people / pose_every
landmark runs plus the new people confirmed (at most `max_new_per_frame`); the detector runs in
a second thread beside the poses.

`finder="motion"` proposes people by OpenCV's MOG2 background subtraction instead (a fixed
camera; no detector runs), `finder="both"` by the two; each proposal is confirmed by the landmark
model the same way. In one run on vtest.avi (bench/people.py) motion alone made 11 tracks and
2.8 poses a frame where the detector made 8 and 1.6: every moving blob is posed, and a group's
blob holds several people.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import ConfigError, DataError
from actrec.extract.blazepose import SAME_PERSON, LandmarkModel, PersonDetector, Region, tile_grid
from actrec.extract.detectors import DETECTORS, N_CHANNELS, POSE_JOINTS
from actrec.io.recording import Recording
from actrec.tracking import Detection, Tracker, TrackerConfig, keypoint_box

FINDERS = ("detector", "motion", "both")
STAGES = ("detect", "pose", "wait", "track")  # wait: for the finder's thread once the poses are done
CPU_STAGES = ("detect", "pose", "track")


@dataclass(frozen=True)
class PeopleConfig:
    """finder: "detector" (BlazePose's person detector on tiles; any camera) or "motion"
      (background subtraction; a fixed camera).
    tile_px: side of the square tiles the detector looks at (about three people tall; people
      shorter than a fifth of it are missed). 240-288 px tiles cover a 768 x 576 frame in 13
      (with the whole frame), 224 px ones in 21.
    tiles_per_frame: detector runs per frame; the tiles are visited in turn (one a frame: the
      whole 768 x 576 frame looked at every 13 frames).
    min_detection_score: least detector score of a person.
    pose_every: frames between two poses of one followed person (1: every frame).
    min_pose_score: least pose-present score of the landmark model for a person.
    min_visibility: mean joint visibility a pose needs to count as a person.
    max_hip_shift: farthest the posed hips may lie from the region's centre (where the detector or
      the track put them), in region sides; farther, the pose is someone else's.
    max_new_per_frame: most new people confirmed (posed) per frame, bounding the time per frame.
    min_person_px: shortest person (full-frame pixels) kept, and shortest motion blob proposed.
    motion_history: frames the background model remembers (finder "motion").
    min_track_frames: shorter tracks are dropped from recordings (a false pose for a moment).
    tracking: the tracker's settings; stricter than its defaults (made for generated walkers),
      as in a crowd a neighbour's pose lies within 0.3 body heights of a lost person's; a new
      person is reported after 3 matches in a row (a pose found once is never reported) and may
      then turn out to be someone lost.
    threads: LiteRT threads per model.
    parallel: find new people in a second thread while the followed ones are posed."""

    finder: str = "detector"
    tile_px: int = 288
    tiles_per_frame: int = 1
    min_detection_score: float = 0.5
    pose_every: int = 3
    min_pose_score: float = 0.5
    min_visibility: float = 0.5
    max_hip_shift: float = 0.15
    max_new_per_frame: int = 4
    min_person_px: int = 24
    motion_history: int = 300
    min_track_frames: int = 5
    threads: int = 1
    parallel: bool = True
    tracking: TrackerConfig = field(
        default_factory=lambda: TrackerConfig(min_iou=0.4, max_keypoint_distance=0.15, confirm_hits=3)
    )

    def __post_init__(self) -> None:
        if self.finder not in FINDERS:
            raise ConfigError(f"unknown people finder '{self.finder}'; choose one of: {', '.join(FINDERS)}")
        for name in ("tiles_per_frame", "pose_every", "max_new_per_frame", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} is {getattr(self, name)}; use 1 or more")


class MotionProposals:
    """Boxes `[N, 4]` (x0, y0, x1, y1 full-frame pixels) around moving blobs of a fixed camera."""

    def __init__(self, cv2: Any, config: PeopleConfig) -> None:
        self.cv2 = cv2
        self.config = config
        self.subtractor = cv2.createBackgroundSubtractorMOG2(
            history=config.motion_history, varThreshold=25, detectShadows=True
        )
        self.open_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.join_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 9))  # joins a body's parts vertically

    def __call__(self, frame_bgr: np.ndarray) -> np.ndarray:
        cv2 = self.cv2
        small = cv2.resize(frame_bgr, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        mask = (self.subtractor.apply(small) == 255).astype(np.uint8)  # 127 is shadow
        mask = cv2.dilate(cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.open_kernel), self.join_kernel, iterations=2)
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = []
        for x, y, width, height, _area in stats[1:] * 2:
            if height < self.config.min_person_px:
                continue
            boxes.append([x, y, x + width, y + height])
            if width > 0.75 * height:  # two people side by side merge into one blob: look at each half too
                boxes += [[x, y, x + width * 0.6, y + height], [x + width * 0.4, y, x + width, y + height]]
        return np.asarray(boxes, dtype=float).reshape(-1, 4)


def appearance_histogram(cv2: Any, frame_bgr: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """float32 `[32]` hue x saturation histogram (8 x 4 bins, summing to 1) of the middle of a
    person's box (their clothes, little background); None for a box outside the frame."""
    x0, y0, x1, y1 = box
    inner = np.array([x0 + 0.25 * (x1 - x0), y0 + 0.15 * (y1 - y0), x1 - 0.25 * (x1 - x0), y0 + 0.75 * (y1 - y0)])
    height, width = frame_bgr.shape[:2]
    left, top = int(max(inner[0], 0)), int(max(inner[1], 0))
    right, bottom = int(min(inner[2], width)), int(min(inner[3], height))
    if right - left < 2 or bottom - top < 2:
        return None
    hsv = cv2.cvtColor(frame_bgr[top:bottom, left:right], cv2.COLOR_BGR2HSV)
    counts = cv2.calcHist([hsv], [0, 1], None, [8, 4], [0, 180, 0, 256]).ravel()
    return (counts / max(counts.sum(), 1.0)).astype(np.float32)


@dataclass
class _Followed:
    """What the poser keeps of a track between its poses: the region and keypoints of its last
    pose, the frame of that pose, the frame it was last looked for, and the velocity of the hips
    (pixels per frame, smoothed over poses)."""

    region: Region
    keypoints: np.ndarray
    posed_at: int
    looked_at: int
    velocity: np.ndarray

    def expected_shift(self, index: int) -> np.ndarray:
        """How far the person has moved since their last pose, at frame `index`."""
        return self.velocity * (index - self.posed_at)


@dataclass
class _Pose:
    """A whole body the landmark model found: its box, keypoints `[33, 4]`, and the region to
    look in next (centred on its hips)."""

    box: np.ndarray
    keypoints: np.ndarray
    region: Region


class PeoplePoser:
    """Frame by frame: people found, posed and tracked. `__call__(frame_bgr)` returns
    `{track_id: keypoints [33, 4]}` for the people followed at that frame (posed this frame or
    moved with their velocity since their last pose); `tracker.ended` then lists the ids that left.
    `seconds` holds the time spent in each stage (`STAGES`), `poses` the landmark runs made."""

    def __init__(self, config: PeopleConfig | None = None) -> None:
        from actrec.io.video import import_cv2

        self.config = config or PeopleConfig()
        self.cv2 = import_cv2()
        self.landmarks = LandmarkModel(self.cv2, self.config.threads)
        finder = self.config.finder
        self.detector = (
            PersonDetector(self.cv2, self.config.min_detection_score, self.config.threads)
            if finder != "motion"
            else None
        )
        self.motion = MotionProposals(self.cv2, self.config) if finder != "detector" else None
        self.tracker = Tracker(self.config.tracking)
        self.followed: dict[int, _Followed] = {}
        self.frame_index = 0
        self.poses = 0
        self.seconds = dict.fromkeys(STAGES, 0.0)
        # CPU time of the thread that ran each stage: what it costs, whatever else loads the machine
        self.cpu_seconds = dict.fromkeys(CPU_STAGES, 0.0)
        # the last frame's CPU seconds: main thread until it waits for the finder, the finder's
        # thread, main thread after; on two free cores a frame takes about max(first, second) + third
        self.last_frame_cpu = (0.0, 0.0, 0.0)
        self._tiles: list[tuple[float, float, float]] = []
        self._next_tile = 0
        # the finder runs beside the poses of followed people: they read the same frame, and
        # LiteRT releases the GIL while a model runs, so two cores work at once
        self._pool = ThreadPoolExecutor(max_workers=1) if self.config.parallel else None

    def __call__(self, frame_bgr: np.ndarray) -> dict[int, np.ndarray]:
        index = self.frame_index
        self.frame_index += 1
        cpu_called = time.thread_time()
        rgb = self.cv2.cvtColor(frame_bgr, self.cv2.COLOR_BGR2RGB)
        proposing = self._pool.submit(self._propose, frame_bgr, rgb) if self._pool is not None else None
        started, cpu_started = time.perf_counter(), time.thread_time()
        due = self._due(index)
        found = []
        for track_id in sorted(due):  # ids in order: the poses (and so ties between them) never follow a set's layout
            followed = self.followed[track_id]
            followed.looked_at = index
            found.append(self._pose(rgb, followed.region.moved(followed.expected_shift(index))))
        posed, cpu_posed = time.perf_counter(), time.thread_time()
        regions, detect_seconds, detect_cpu = (
            proposing.result() if proposing is not None else self._propose(frame_bgr, rgb)
        )
        waited, cpu_waited = time.perf_counter(), time.thread_time()
        candidates = self._new_people(regions, index, [pose.region for pose in found if pose is not None])
        found += [self._pose(rgb, region) for region in candidates[: self.config.max_new_per_frame]]
        people = _distinct([pose for pose in found if pose is not None])
        finished, cpu_finished = time.perf_counter(), time.thread_time()
        detections = [
            Detection(pose.box, pose.keypoints, appearance_histogram(self.cv2, frame_bgr, pose.box)) for pose in people
        ]
        # a person not due for a pose but found anyway (a detector hit the expected box missed) is theirs to match
        looked_at = set(due) | {
            track_id
            for track_id, box in self.tracker.predicted_boxes()
            if any(_overlap_of_smaller(pose.box, box[None])[0] > 0.5 for pose in people)
        }
        ids = self.tracker.update(detections, looked_at=looked_at)
        for tentative, confirmed in self.tracker.renamed.items():
            self.followed[confirmed] = self.followed.pop(tentative)
        for track_id, pose in zip(ids, people):
            before = self.followed.get(track_id)
            velocity = np.zeros(2)
            if before is not None and index > before.posed_at:
                step = (pose.region.centre - before.region.centre) / (index - before.posed_at)
                velocity = step if not before.velocity.any() else 0.5 * step + 0.5 * before.velocity
            self.followed[track_id] = _Followed(pose.region, pose.keypoints, index, index, velocity)
        result = {}
        for track in self.tracker.tracks:
            if track.missed == 0 and track.confirmed:
                followed = self.followed[track.track_id]
                keypoints = followed.keypoints.copy()
                keypoints[:, :2] += followed.expected_shift(index)
                result[track.track_id] = keypoints
        for track_id in self.tracker.ended:
            del self.followed[track_id]
        self.seconds["pose"] += (posed - started) + (finished - waited)
        self.seconds["detect"] += detect_seconds
        self.seconds["wait"] += waited - posed
        self.seconds["track"] += time.perf_counter() - finished
        self.cpu_seconds["pose"] += (cpu_posed - cpu_started) + (cpu_finished - cpu_waited)
        self.cpu_seconds["detect"] += detect_cpu
        self.cpu_seconds["track"] += time.thread_time() - cpu_finished
        self.last_frame_cpu = (cpu_posed - cpu_called, detect_cpu, time.thread_time() - cpu_waited)
        return result

    def _due(self, index: int) -> set[int]:
        """Ids of the followed people to pose this frame: those last looked for `pose_every`
        frames ago, and every frame those followed for less than three poses (no velocity yet to
        move their region by)."""
        return {
            track.track_id
            for track in self.tracker.tracks
            if track.hits < 3 or index - self.followed[track.track_id].looked_at >= self.config.pose_every
        }

    def _pose(self, rgb: np.ndarray, region: Region) -> _Pose | None:
        """The landmark model on `region`, if it finds a whole person there."""
        self.poses += 1
        score, keypoints, next_region = self.landmarks(rgb, region)
        if score < self.config.min_pose_score or float(np.mean(keypoints[:, 3])) < self.config.min_visibility:
            return None
        if np.hypot(*(next_region.centre - region.centre)) > self.config.max_hip_shift * region.side:
            return None  # the model took a neighbour in the region for the person expected at its centre
        box = keypoint_box(keypoints, min_confidence=0.3)
        if box is None or box[3] - box[1] < max(self.config.min_person_px, 0.25 * region.side):
            return None  # a head or a limb, not a whole body
        return _Pose(box, keypoints, next_region)

    def _propose(self, frame_bgr: np.ndarray, rgb: np.ndarray) -> tuple[list[Region], float, float]:
        """Regions where the finder sees people this frame (the detector on this frame's tiles,
        and/or motion blobs), and the seconds it took (wall, and CPU of its thread)."""
        started, cpu_started = time.perf_counter(), time.thread_time()
        regions = []
        if self.detector is not None:
            if not self._tiles:
                height, width = rgb.shape[:2]
                self._tiles = tile_grid(width, height, self.config.tile_px)
            tiles = [
                self._tiles[(self._next_tile + n) % len(self._tiles)]
                for n in range(min(self.config.tiles_per_frame, len(self._tiles)))
            ]
            self._next_tile = (self._next_tile + len(tiles)) % len(self._tiles)
            regions += [person.region for person in self.detector.detect(rgb, tiles)]
        if self.motion is not None:
            regions += [
                Region((box[:2] + box[2:]) / 2, 1.5 * max(box[3] - box[1], box[2] - box[0]), 0.0)
                for box in self.motion(frame_bgr)
            ]
        return regions, time.perf_counter() - started, time.thread_time() - cpu_started

    def _new_people(self, regions: list[Region], index: int, posed: list[Region]) -> list[Region]:
        """The proposed regions of people not followed yet, best first: their hips are not where
        a person posed this frame, or found at their last look, has theirs (within a fifth of a
        region side, as the detector's own suppression counts one person). Hips, not boxes: in a
        group, a followed person's box covers a neighbour's hips."""
        taken = posed + [
            self.followed[track.track_id].region.moved(self.followed[track.track_id].expected_shift(index))
            for track in self.tracker.tracks
            if track.missed == 0
        ]
        return [
            region
            for region in regions
            if all(
                np.hypot(*(region.centre - other.centre)) >= SAME_PERSON * max(region.side, other.side)
                for other in taken
            )
        ]

    def close(self) -> None:
        """Stop the finder's thread."""
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self) -> PeoplePoser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _distinct(found: list[_Pose]) -> list[_Pose]:
    """Each person once: of poses where half of the smaller box lies in the other, the most
    visible is kept (two regions around one person, or one drifting onto a neighbour, give the
    same pose twice)."""
    kept: list[_Pose] = []
    for pose in sorted(found, key=lambda item: -float(np.mean(item.keypoints[:, 3]))):
        if not kept or _overlap_of_smaller(pose.box, np.stack([other.box for other in kept])).max() < 0.5:
            kept.append(pose)
    return kept


def _overlap_of_smaller(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`[N]`: intersection of `box` with each of `others` over the smaller of the two areas."""
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    smaller = np.minimum(areas, (box[2] - box[0]) * (box[3] - box[1]))
    return inter / np.maximum(smaller, 1e-9)


def extract_people_video(
    path: str | Path,
    max_frames: int | None = None,
    on_frames: Callable[[int], None] | None = None,
    config: PeopleConfig | None = None,
) -> Recording:
    """Every person of the video at `path`, posed and tracked: a Recording with keypoints float32
    `[T, P, 33, 4]` (full-frame pixels; NaN where a person is not seen), present `[T, P]` and
    track_id `[P]` (1, 2, ... in order of first appearance). Tracks shorter than
    `config.min_track_frames` are dropped; with nobody kept, P is 1 and that person is never present."""
    from actrec.extract.core import PROGRESS_EVERY
    from actrec.io.video import VideoReader

    config = config or PeopleConfig()
    frames: list[dict[int, np.ndarray]] = []
    pending = 0
    with PeoplePoser(config) as poser, VideoReader(path) as video:
        if video.info.fps <= 0:
            raise DataError(f"{path}: the video reports no frame rate; re-encode it (e.g. ffmpeg -r 30)")
        for frame in video.frames(max_frames):
            frames.append(poser(frame))
            pending += 1
            if on_frames is not None and pending == PROGRESS_EVERY:
                on_frames(pending)
                pending = 0
        fps = video.info.fps
    if on_frames is not None and pending:
        on_frames(pending)
    seen: dict[int, int] = {}
    for people in frames:
        for track in people:
            seen[track] = seen.get(track, 0) + 1
    tracks = [track for track in sorted(seen) if seen[track] >= config.min_track_frames]
    keypoints = np.full((len(frames), max(len(tracks), 1), POSE_JOINTS, N_CHANNELS), np.nan, dtype=np.float32)
    present = np.zeros(keypoints.shape[:2], dtype=bool)
    for row, people in enumerate(frames):
        for column, track in enumerate(tracks):
            if track in people:
                keypoints[row, column] = people[track]
                present[row, column] = True
    # nobody kept: one empty person column, so the file still says "people" and loads
    return Recording(
        keypoints,
        present,
        fps,
        np.arange(len(frames)),
        DETECTORS["pose"].schema,
        str(path),
        track_id=np.arange(1, keypoints.shape[1] + 1),
    )
