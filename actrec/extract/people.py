"""Several people per frame: find them, run the pose model on each one's crop, follow them.

Measured on OpenCV's vtest.avi (768x576, people about 90 px tall; bench/people.py):
- OpenCV 5's Python wheel no longer has the HOG people detector (`cv2.HOGDescriptor` moved out
  of the main modules), and MediaPipe 0.10.21's multi-person `PoseLandmarker` task needs a
  `.task` bundle that is not shipped and whose graph fails to build beside protobuf 6.
- MediaPipe's pose on the whole frame finds nobody (people are too small for its detector), but
  on a square crop around one person, upscaled to 256 px, it finds the pose (~0.1 s a crop).
So people are proposed by motion (OpenCV's MOG2 background subtraction at half resolution: the
camera is fixed, people move) plus where each live track is expected (so someone standing still
is still looked at), and the pose model on each crop confirms a person: proposals without a pose
are dropped, and poses found twice (overlapping proposals) are kept once. Keypoints come back in
full-frame pixels and the `Tracker` gives each person a stable id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from actrec.errors import DataError
from actrec.extract.detectors import DETECTORS, N_CHANNELS, POSE_JOINTS, MediaPipeDetector
from actrec.io.recording import Recording
from actrec.tracking import Detection, Tracker, TrackerConfig, box_iou, keypoint_box


@dataclass(frozen=True)
class PeopleConfig:
    """crop_side: pixels the square person crop is resized to for the pose model.
    crop_margin: crop side as a multiple of the proposal's longer side.
    min_visibility: mean joint visibility a pose needs to count as a person.
    min_person_px: shortest foreground blob (full-frame pixels) proposed as a person.
    max_proposals: most crops posed per frame (live tracks first), bounding the time per frame.
    motion_history: frames the background model remembers.
    min_track_frames: shorter tracks are dropped from recordings (a false pose for a moment)."""

    crop_side: int = 256
    crop_margin: float = 2.0
    min_visibility: float = 0.5
    min_person_px: int = 24
    max_proposals: int = 12
    motion_history: int = 300
    min_track_frames: int = 5
    tracking: TrackerConfig = field(default_factory=TrackerConfig)


class MotionProposals:
    """Boxes `[N, 4]` (x0, y0, x1, y1 full-frame pixels) around moving blobs of a fixed camera."""

    def __init__(self, cv2: Any, config: PeopleConfig) -> None:
        self.cv2 = cv2
        self.config = config
        self.subtractor = cv2.createBackgroundSubtractorMOG2(history=config.motion_history, varThreshold=25, detectShadows=True)
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


class CropPose:
    """MediaPipe pose on a square crop around a box, mapped back to full-frame pixels."""

    def __init__(self, cv2: Any, config: PeopleConfig) -> None:
        self.cv2 = cv2
        self.config = config
        self.detector = MediaPipeDetector("pose", min_detection_confidence=0.3, static_image_mode=True)

    def __call__(self, frame_rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """float32 `[33, 4]` (x, y pixels, z scaled like x, visibility) or None."""
        side = self.config.crop_side
        centre = (box[:2] + box[2:]) / 2
        extent = max(box[2] - box[0], box[3] - box[1], 8.0) * self.config.crop_margin
        scale = side / extent
        origin = centre - extent / 2
        warp = np.float32([[scale, 0, -origin[0] * scale], [0, scale, -origin[1] * scale]])
        crop = self.cv2.warpAffine(frame_rgb, warp, (side, side), flags=self.cv2.INTER_LINEAR, borderMode=self.cv2.BORDER_REPLICATE)
        found = self.detector.detect(crop)
        if found is None or float(np.nanmean(found[:, 3])) < self.config.min_visibility:
            return None
        return (found * np.float32([extent, extent, extent, 1.0]) + np.float32([origin[0], origin[1], 0, 0])).astype(np.float32)

    def close(self) -> None:
        self.detector.close()


class PeoplePoser:
    """Frame by frame: people found, posed and tracked. `__call__(frame_bgr)` returns
    `{track_id: keypoints [33, 4]}` for the people seen in that frame; `tracker.ended` then lists
    the ids that left."""

    def __init__(self, config: PeopleConfig | None = None) -> None:
        from actrec.io.video import import_cv2

        self.config = config or PeopleConfig()
        self.cv2 = import_cv2()
        self.proposals = MotionProposals(self.cv2, self.config)
        self.pose = CropPose(self.cv2, self.config)
        self.tracker = Tracker(self.config.tracking)
        self.crops_posed = 0
        self.last_proposals = np.zeros((0, 4))

    def __call__(self, frame_bgr: np.ndarray) -> dict[int, np.ndarray]:
        self.last_proposals = self._proposals(frame_bgr)
        rgb = self.cv2.cvtColor(frame_bgr, self.cv2.COLOR_BGR2RGB)
        found: list[tuple[float, np.ndarray, np.ndarray]] = []
        for box in self.last_proposals:
            keypoints = self.pose(rgb, box)
            self.crops_posed += 1
            if keypoints is None:
                continue
            person_box = keypoint_box(keypoints, min_confidence=0.3)
            if person_box is None:
                continue
            # a whole body, not a head or a limb found in the crop (nor a "person" in the grass)
            height = person_box[3] - person_box[1]
            if height >= max(self.config.min_person_px, 0.3 * (box[3] - box[1])):
                found.append((float(np.nanmean(keypoints[:, 3])), person_box, keypoints))
        people = _distinct(found)
        ids = self.tracker.update([Detection(box, keypoints) for box, keypoints in people])
        return {track: keypoints for track, (_, keypoints) in zip(ids, people)}

    def _proposals(self, frame_bgr: np.ndarray) -> np.ndarray:
        """`[N, 4]` boxes to pose: the predicted boxes of live tracks (padded: a pose box is
        tighter than the body) first, then motion boxes that are not near-duplicates of earlier
        ones, at most `max_proposals`."""
        motion = self.proposals(frame_bgr)
        predicted = [box for _, box in self.tracker.predicted_boxes()]
        if predicted:
            tracked = np.asarray(predicted)
            pad = (tracked[:, 2:] - tracked[:, :2]) * 0.15
            tracked = np.concatenate([tracked[:, :2] - pad, tracked[:, 2:] + pad], axis=1)
            boxes = np.concatenate([tracked, motion])  # tracks first: they win ties below
        else:
            boxes = motion
        kept: list[np.ndarray] = []
        for box in boxes:
            if not kept or box_iou(box, np.asarray(kept)).max() < 0.6:
                kept.append(box)
        return np.asarray(kept[: self.config.max_proposals]).reshape(-1, 4)

    def close(self) -> None:
        self.pose.close()


def _distinct(found: list[tuple[float, np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(box, keypoints) of each person once: of poses where half of the smaller box lies in the
    other, the most visible is kept (two proposals around one person give its pose twice, one of
    them sometimes only the upper body)."""
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    for _, box, keypoints in sorted(found, key=lambda item: -item[0]):
        if not kept or _overlap_of_smaller(box, np.stack([b for b, _ in kept])).max() < 0.5:
            kept.append((box, keypoints))
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
    poser = PeoplePoser(config)
    try:
        with VideoReader(path) as video:
            if video.info.fps <= 0:
                raise DataError(f"{path}: the video reports no frame rate; re-encode it (e.g. ffmpeg -r 30)")
            for frame in video.frames(max_frames):
                frames.append(poser(frame))
                pending += 1
                if on_frames is not None and pending == PROGRESS_EVERY:
                    on_frames(pending)
                    pending = 0
            fps = video.info.fps
    finally:
        poser.close()
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
    return Recording(keypoints, present, fps, np.arange(len(frames)), DETECTORS["pose"].schema, str(path),
                     track_id=np.arange(1, keypoints.shape[1] + 1))
