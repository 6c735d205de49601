"""A small multi-person tracker: constant-velocity boxes, IoU + keypoint-distance costs, Hungarian
matching (scipy's `linear_sum_assignment`), stable ids, tracks that end after N missed frames, and
re-identification of a person who was lost for a few seconds.

People move a few pixels per frame, so predicting each box one step ahead with its smoothed
velocity and matching on overlap is enough to keep identities through crossings of short length;
the keypoint term separates two people whose boxes overlap. A person hidden for longer (behind a
pillar, inside a group) ends their track; when someone appears who looks like them (a colour
histogram of their clothes, `Detection.appearance`) near where they should be, they get their old
id back. Ids are otherwise never reused.

With `confirm_hits` above 1, a new track is tentative (a negative id, not reported) until it has
been matched that many times, and ends at its first miss. When it is confirmed, it is first
checked against the people looked for and not found (or recently ended): a person lost in a
group, or who turned round, is often found again under a new track before their old one runs out
of misses; several sightings of their clothes make the comparison safer than one. If one of them
is near and looks like it, clearly more than any other, the old track takes it over and the
person keeps their id; otherwise it gets the next id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from actrec.errors import ConfigError

UNMATCHABLE = 1e6


@dataclass(frozen=True)
class TrackerConfig:
    """max_missed: frames a track lives on without a match before it ends.
    min_iou: least overlap of predicted and detected boxes for a match on boxes alone.
    max_keypoint_distance: mean joint distance, in heights of the predicted box, below which a
      detection can match even without enough overlap (people small and fast).
    velocity_smoothing: weight of the newest displacement in the velocity estimate (0-1].
    max_appearance_distance: appearance distance (Hellinger, 0-1) above which a detection is
      never matched to a live track, however close (two people in different clothes crossing).
    reid_frames: frames an ended track can still be re-identified (0: never).
    reid_max_distance: largest appearance distance (Hellinger, 0-1) of a re-identified person.
    reid_drift: how far (box heights per frame of absence) a lost person may stray from where
      constant velocity puts them, beyond one box height.
    reid_margin: how much closer (appearance distance) a re-identified person must look to the
      track they take over than to any other candidate (ambiguous: a new id instead).
    confirm_hits: matches a new track needs before it is reported (1: at once)."""

    max_missed: int = 10
    min_iou: float = 0.3
    max_keypoint_distance: float = 0.3
    velocity_smoothing: float = 0.5
    max_appearance_distance: float = 0.6
    reid_frames: int = 60
    reid_max_distance: float = 0.35
    reid_drift: float = 0.05
    reid_margin: float = 0.1
    confirm_hits: int = 1

    def __post_init__(self) -> None:
        if self.max_missed < 0:
            raise ConfigError(f"max_missed is {self.max_missed}; use 0 or more frames")
        if self.reid_frames < 0:
            raise ConfigError(f"reid_frames is {self.reid_frames}; use 0 (no re-identification) or more frames")
        if self.confirm_hits < 1:
            raise ConfigError(f"confirm_hits is {self.confirm_hits}; use 1 (report at once) or more matches")
        if not 0 < self.velocity_smoothing <= 1:
            raise ConfigError(f"velocity_smoothing is {self.velocity_smoothing}; use a weight in (0, 1]")


@dataclass
class Detection:
    """One person in one frame: `box` float `[4]` (x0, y0, x1, y1) pixels; `keypoints` `[J, C]`
    (x, y first; NaN where unseen) or None; `appearance` a float `[K]` histogram summing to 1
    (`appearance_histogram`) or None."""

    box: np.ndarray
    keypoints: np.ndarray | None = None
    appearance: np.ndarray | None = None


@dataclass
class Track:
    """A followed person: last box and keypoints, velocity `[2]` (box centre change per frame;
    the size is held, as a person's size changes slowly and noisily), `age` frames since the last
    match, `missed` of those frames in which the person was looked for and not found, and a running
    mean of their appearance."""

    track_id: int
    box: np.ndarray
    keypoints: np.ndarray | None
    appearance: np.ndarray | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    age: int = 0
    missed: int = 0
    hits: int = 1
    confirmed: bool = True

    def predicted_box(self, ahead: int = 1) -> np.ndarray:
        """The box where the person should be `ahead` frames from now, moving at constant velocity."""
        return self.box + np.tile(self.velocity * (self.age + ahead), 2)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU `[len(a), len(b)]` of boxes `[N, 4]` and `[M, 4]` (x0, y0, x1, y1)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def keypoint_box(keypoints: np.ndarray, min_confidence: float = 0.0) -> np.ndarray | None:
    """float `[4]` box around the seen joints of `[J, C]` keypoints (channel 3, when present, is a
    visibility that must exceed `min_confidence`); None if fewer than two joints are seen."""
    points = keypoints[:, :2]
    seen = np.isfinite(points).all(axis=1)
    if keypoints.shape[1] > 3:
        seen &= np.nan_to_num(keypoints[:, 3]) > min_confidence
    if seen.sum() < 2:
        return None
    x0, y0 = points[seen].min(axis=0)
    x1, y1 = points[seen].max(axis=0)
    return np.array([x0, y0, x1, y1], dtype=float)


def appearance_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Hellinger distance (0 same, 1 disjoint) of two histograms summing to 1; 1 if either is missing."""
    if a is None or b is None:
        return 1.0
    return float(np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(a * b)))))


def _keypoint_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Mean distance between joints seen in both (pixels); inf if none are."""
    if a is None or b is None or a.shape != b.shape:
        return np.inf
    gap = np.linalg.norm(a[:, :2] - b[:, :2], axis=1)
    gap = gap[np.isfinite(gap)]
    return float(gap.mean()) if len(gap) else np.inf


class Tracker:
    """`update(detections)` once per frame -> the track id of each detection (new people get new
    ids, or an ended track's id when re-identified; negative while tentative); `ended` lists ids
    that ran out of `max_missed` frames since the last update, `renamed` the tentative ids that
    became confirmed ones in it ({tentative: confirmed})."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self.lost: list[Track] = []  # ended tracks that may still be re-identified
        self.ended: list[int] = []
        self.renamed: dict[int, int] = {}
        self.reidentified = 0
        self._next_id = 1
        self._next_tentative = -1

    def update(self, detections: list[Detection], looked_at: set[int] | None = None) -> list[int]:
        """Match this frame's detections to the live tracks; returns one id per detection.

        looked_at: ids of the tracks this frame's detections could have found (a detector that
        refreshes each person only every few frames); the others coast on their velocity without
        counting a miss. None: every track was looked for."""
        config = self.config
        ids = [0] * len(detections)
        candidates = [row for row, track in enumerate(self.tracks) if looked_at is None or track.track_id in looked_at]
        matched_tracks: set[int] = set()
        if candidates and detections:
            cost = self._costs([self.tracks[row] for row in candidates], detections)
            rows, cols = linear_sum_assignment(cost)
            for row, col in zip(rows.tolist(), cols.tolist()):
                if cost[row, col] >= UNMATCHABLE:
                    continue
                track = self.tracks[candidates[row]]
                self._match(track, detections[col])
                ids[col] = track.track_id
                matched_tracks.add(candidates[row])
        self.ended, self.renamed = [], {}
        survivors = []
        for index, track in enumerate(self.tracks):
            if index not in matched_tracks:
                track.age += 1
                if looked_at is None or track.track_id in looked_at:
                    track.missed += 1
                if track.missed > (config.max_missed if track.confirmed else 0):
                    self.ended.append(track.track_id)
                    if track.confirmed:  # a tentative track was never reported: nobody to re-identify
                        self.lost.append(track)
                    continue
            survivors.append(track)
        self.tracks = survivors
        self._reidentify(detections, ids)
        for col, detection in enumerate(detections):
            if not ids[col]:
                track = Track(0, np.asarray(detection.box, float), detection.keypoints, detection.appearance)
                self.tracks.append(track)
                if config.confirm_hits > 1:
                    track.track_id, track.confirmed = self._next_tentative, False
                    self._next_tentative -= 1
                else:
                    track.track_id = self._new_id()
                ids[col] = track.track_id
        for col, track_id in enumerate(ids):
            if track_id < 0:
                ids[col] = self._confirm(track_id)
        return ids

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _confirm(self, tentative_id: int) -> int:
        """The id of tentative track `tentative_id` after this frame's match: itself while it has
        fewer than `confirm_hits` matches; then the id of a person looked for and not found (or
        recently ended) whom it is near and looks like, clearly more than any other such person,
        who takes it over; else a new id."""
        track = next(track for track in self.tracks if track.track_id == tentative_id)
        if track.hits < self.config.confirm_hits:
            return tentative_id
        track.confirmed = True
        # people looked for and not found: confirmed live tracks unmatched this frame that missed, and ended ones
        candidates = [other for other in self.tracks if other.confirmed and other.age > 0 and other.missed > 0]
        candidates += self.lost
        near = []
        for other in candidates:
            closeness, distance = self._nearness(other, track.box, track.appearance)
            if closeness <= 1:
                near.append((distance, other))
        near.sort(key=lambda pair: pair[0])
        runner_up = near[1][0] if len(near) > 1 else 1.0
        if not near or near[0][0] > self.config.reid_max_distance or near[0][0] + self.config.reid_margin > runner_up:
            track.track_id = self._new_id()
        else:
            best = near[0][1]
            self.tracks = [other for other in self.tracks if other is not track]
            if any(other is best for other in self.lost):
                self.lost = [other for other in self.lost if other is not best]
                self.tracks.append(best)
            best.box, best.keypoints, best.velocity = track.box, track.keypoints, track.velocity
            if track.appearance is not None:  # both seen: they were compared
                best.appearance = (
                    track.appearance if best.appearance is None else 0.5 * best.appearance + 0.5 * track.appearance
                )
            best.age, best.missed, best.hits = 0, 0, best.hits + track.hits
            self.reidentified += 1
            track = best
        self.renamed[tentative_id] = track.track_id
        return track.track_id

    def _match(self, track: Track, detection: Detection) -> None:
        """Move `track` to `detection`: velocity smoothed over the frames since the last match."""
        box = np.asarray(detection.box, float)
        step = (box[:2] + box[2:] - track.box[:2] - track.box[2:]) / 2 / (track.age + 1)
        alpha = self.config.velocity_smoothing
        track.velocity = step if track.hits == 1 else alpha * step + (1 - alpha) * track.velocity
        track.box, track.keypoints = box, detection.keypoints
        if detection.appearance is not None:
            track.appearance = (
                detection.appearance
                if track.appearance is None
                else 0.8 * track.appearance + 0.2 * detection.appearance
            )
        track.age, track.missed, track.hits = 0, 0, track.hits + 1

    def _reidentify(self, detections: list[Detection], ids: list[int]) -> None:
        """Give unmatched detections the id of a recently ended track that looks like them and is
        near where it should be; tracks lost for longer than `reid_frames` are forgotten."""
        config = self.config
        for track in self.lost:
            track.age += 1
        self.lost = [track for track in self.lost if track.age <= config.reid_frames]
        free = [col for col, track_id in enumerate(ids) if not track_id and detections[col].appearance is not None]
        if not free or not self.lost:
            return
        cost = np.full((len(self.lost), len(free)), UNMATCHABLE)
        for row, track in enumerate(self.lost):
            expected = track.predicted_box(ahead=0)
            height = max(expected[3] - expected[1], 1.0)
            reach = height * (1 + config.reid_drift * track.age)
            for slot, col in enumerate(free):
                box = np.asarray(detections[col].box, float)
                gap = np.hypot(*((box[:2] + box[2:] - expected[:2] - expected[2:]) / 2))
                distance = appearance_distance(track.appearance, detections[col].appearance)
                if gap <= reach and distance <= config.reid_max_distance:
                    cost[row, slot] = distance + 0.1 * gap / reach
        rows, slots = linear_sum_assignment(cost)
        revived = set()
        for row, slot in zip(rows.tolist(), slots.tolist()):
            if cost[row, slot] >= UNMATCHABLE:
                continue
            track = self.lost[row]
            track.velocity = np.zeros(2)  # where they went while hidden says little about where they go next
            track.hits = 1
            self._match(track, detections[free[slot]])
            ids[free[slot]] = track.track_id
            self.tracks.append(track)
            revived.add(row)
            self.reidentified += 1
        self.lost = [track for row, track in enumerate(self.lost) if row not in revived]

    def _nearness(self, track: Track, box: np.ndarray, appearance: np.ndarray | None) -> tuple[float, float]:
        """(gap between `box` and where `track` should be now, in reaches: one box height growing
        by `reid_drift` heights a frame of absence; appearance distance)."""
        expected = track.predicted_box(ahead=0)
        reach = max(expected[3] - expected[1], 1.0) * (1 + self.config.reid_drift * track.age)
        gap = np.hypot(*((box[:2] + box[2:] - expected[:2] - expected[2:]) / 2))
        return float(gap / reach), appearance_distance(track.appearance, appearance)

    def predicted_boxes(self) -> list[tuple[int, np.ndarray]]:
        """(id, box expected in the next frame) of every live track: where to look for people
        a detector may miss (someone standing still is no longer seen as moving)."""
        return [(track.track_id, track.predicted_box()) for track in self.tracks]

    def _costs(self, tracks: list[Track], detections: list[Detection]) -> np.ndarray:
        """`[tracks, detections]`: (1 - IoU + scaled keypoint distance) / 2, UNMATCHABLE where
        neither the overlap nor the keypoints are close enough, or the clothes differ."""
        config = self.config
        predicted = np.stack([track.predicted_box() for track in tracks])
        iou = box_iou(predicted, np.stack([d.box for d in detections]))
        cost = np.full(iou.shape, UNMATCHABLE)
        for row, track in enumerate(tracks):
            height = max(predicted[row, 3] - predicted[row, 1], 1.0)
            shift = track.velocity * (track.age + 1)
            expected = None
            if track.keypoints is not None:
                expected = track.keypoints.copy()
                expected[:, :2] += shift
            for col, detection in enumerate(detections):
                if (
                    track.appearance is not None
                    and detection.appearance is not None
                    and appearance_distance(track.appearance, detection.appearance) > config.max_appearance_distance
                ):
                    continue
                distance = _keypoint_distance(expected, detection.keypoints) / height
                if iou[row, col] < config.min_iou and not distance <= config.max_keypoint_distance:
                    continue
                cost[row, col] = (1 - iou[row, col] + min(distance / config.max_keypoint_distance, 1.0)) / 2
        return cost
