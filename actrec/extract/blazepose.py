"""MediaPipe's BlazePose models run directly through LiteRT: the person detector (every person in
an image, with anchors decoded here) and the pose landmark model on one person's rotated crop.

Why not MediaPipe's own graph: its `Pose` solution follows one person, and each crop posed
through it costs a whole graph run on an upscaled image (about 0.1 s). The two `.tflite` files
ship inside the MediaPipe 0.10.21 wheel (`mediapipe/modules/pose_detection/pose_detection.tflite`,
`mediapipe/modules/pose_landmark/pose_landmark_full.tflite`, the only landmark model it ships; the
lite and heavy ones are downloaded at run time) and LiteRT (`ai-edge-litert`, PyPI) runs them
with XNNPACK: about 17 ms a detector pass and 15 ms a pose on one core.

The decoding follows MediaPipe's `pose_detection_cpu.pbtxt` and `pose_landmark_cpu.pbtxt`:
- detector: input 224x224 RGB in [-1, 1]; 2254 SSD anchors (strides 8, 16, 32, 32, 32, two
  anchors a cell, unit size); each output is a face box and four keypoints, of which keypoint 0
  is the middle of the hips and keypoint 1 a point whose distance to it is the body's radius and
  whose direction gives the body's rotation. The person's region is the square centred on the
  hips, 2 x 1.25 radii a side, rotated so the body stands upright.
- landmarks: input 256x256 RGB in [0, 1] cut from that region; 39 points (33 joints, then the
  hips centre and the radius point again, from which the next frame's region is taken), each
  (x, y, z, visibility logit, presence logit), plus a pose-present score.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import ConfigError

LITERT_INSTALL_HINT = "pip install 'ai-edge-litert>=2.0,<3' (or run scripts/install-video.sh)"
DETECTOR_SIDE = 224
LANDMARK_SIDE = 256
N_LANDMARKS = 33
REGION_SCALE = 1.25  # MediaPipe's RectTransformationCalculator scale for the pose region
SAME_PERSON = 0.2  # two detections whose hips are closer than this many region sides are one person


def model_path(relative: str) -> Path:
    """A `.tflite` file inside the installed MediaPipe package (found without importing it)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        from actrec.extract.detectors import MEDIAPIPE_INSTALL_HINT

        raise ConfigError(
            f"the BlazePose models ship with MediaPipe, which is not installed; install it with: {MEDIAPIPE_INSTALL_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "modules" / relative
    if not path.is_file():
        raise ConfigError(f"{path} is missing from the MediaPipe install; reinstall mediapipe==0.10.21")
    return path


def check_runtime() -> None:
    """ConfigError with the install command unless LiteRT and both model files are there."""
    _interpreter_class()
    model_path("pose_detection/pose_detection.tflite")
    model_path("pose_landmark/pose_landmark_full.tflite")


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ConfigError(
            f"the BlazePose models run on LiteRT, which is not installed; install it with: {LITERT_INSTALL_HINT}"
        ) from None
    return Interpreter


def _interpreter(path: Path, threads: int) -> Any:
    Interpreter = _interpreter_class()
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


def ssd_anchors() -> np.ndarray:
    """float32 `[2254, 2]` anchor centres (x, y) in [0, 1] of the 224 px detector input: strides
    8 and 16 give two anchors a cell, the three stride-32 layers share one 7x7 map (six a cell)."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):
        cells = int(np.ceil(DETECTOR_SIDE / stride))
        grid = (np.arange(cells) + 0.5) / cells
        xs, ys = np.meshgrid(grid, grid)
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True)
class Region:
    """A person's square region: centre (x, y) and side in full-frame pixels, rotation (radians,
    clockwise in the image) that makes the body upright."""

    centre: np.ndarray
    side: float
    rotation: float

    @classmethod
    def from_alignment(cls, hips: np.ndarray, radius_point: np.ndarray) -> Region:
        """MediaPipe's region: centred on the hips, 2 x 1.25 body radii a side, rotated so the
        radius point lies straight above the hips."""
        dx, dy = radius_point - hips
        rotation = np.pi / 2 - np.arctan2(-dy, dx)
        rotation = float((rotation + np.pi) % (2 * np.pi) - np.pi)
        return cls(np.asarray(hips, float), float(2 * np.hypot(dx, dy) * REGION_SCALE), rotation)

    def box(self) -> np.ndarray:
        """float `[4]` upright box (x0, y0, x1, y1) around the region's square."""
        half = self.side / 2 * (abs(np.cos(self.rotation)) + abs(np.sin(self.rotation)))
        return np.concatenate([self.centre - half, self.centre + half])

    def moved(self, shift: np.ndarray) -> Region:
        return Region(self.centre + shift, self.side, self.rotation)

    def warp(self, output_side: int) -> np.ndarray:
        """float32 `[2, 3]` affine matrix from frame pixels to the `output_side` square crop."""
        scale = output_side / max(self.side, 1e-6)
        cos, sin = np.cos(self.rotation) * scale, np.sin(self.rotation) * scale
        rotate = np.array([[cos, sin], [-sin, cos]])
        offset = output_side / 2 - rotate @ self.centre
        return np.hstack([rotate, offset[:, None]]).astype(np.float32)


@dataclass(frozen=True)
class Person:
    """One detection: score in [0, 1] and the body's region."""

    score: float
    region: Region


def _crop(cv2: Any, frame_rgb: np.ndarray, warp: np.ndarray, side: int) -> np.ndarray:
    return cv2.warpAffine(frame_rgb, warp, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _to_frame(points: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """`[N, 2]` crop pixels -> frame pixels through the inverse of `warp`."""
    linear, offset = warp[:, :2].astype(float), warp[:, 2].astype(float)
    return (points - offset) @ np.linalg.inv(linear).T


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80, 80)))


class PersonDetector:
    """BlazePose's person detector on square tiles of a frame.

    `detect(frame_rgb, tiles)` -> a `Person` (full-frame pixels) for each person found
    after non-maximum suppression across the tiles. A tile is (x0, y0, side): people far from the
    camera are too small for the 224 px input of a whole frame, so the frame is cut in tiles
    about three people tall (`tile_grid`)."""

    def __init__(self, cv2: Any, min_score: float = 0.5, threads: int = 1) -> None:
        self.cv2 = cv2
        self.min_score = min_score
        self.interpreter = _interpreter(model_path("pose_detection/pose_detection.tflite"), threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = self.interpreter.get_output_details()
        self.boxes_output, self.scores_output = outputs[0]["index"], outputs[1]["index"]
        self.anchors = ssd_anchors()

    def detect_tile(self, frame_rgb: np.ndarray, tile: tuple[float, float, float]) -> list[Person]:
        x0, y0, side = tile
        warp = np.array(
            [
                [DETECTOR_SIDE / side, 0, -x0 * DETECTOR_SIDE / side],
                [0, DETECTOR_SIDE / side, -y0 * DETECTOR_SIDE / side],
            ],
            np.float32,
        )
        image = _crop(self.cv2, frame_rgb, warp, DETECTOR_SIDE).astype(np.float32) / 127.5 - 1.0
        self.interpreter.set_tensor(self.input, image[None])
        self.interpreter.invoke()
        scores = _sigmoid(self.interpreter.get_tensor(self.scores_output)[0, :, 0])
        keep = np.flatnonzero(scores >= self.min_score)
        if not len(keep):
            return []
        raw = self.interpreter.get_tensor(self.boxes_output)[0, keep]
        anchors = self.anchors[keep]
        hips = raw[:, 4:6] / DETECTOR_SIDE + anchors
        radius = raw[:, 6:8] / DETECTOR_SIDE + anchors
        origin = np.array([x0, y0])  # tile units [0, 1] -> frame pixels
        return [
            Person(float(scores[i]), Region.from_alignment(hips[n] * side + origin, radius[n] * side + origin))
            for n, i in enumerate(keep)
        ]

    def detect(self, frame_rgb: np.ndarray, tiles: list[tuple[float, float, float]]) -> list[Person]:
        found = [hit for tile in tiles for hit in self.detect_tile(frame_rgb, tile)]
        return suppress(found)


def suppress(found: list[Person]) -> list[Person]:
    """Non-maximum suppression: of detections whose hips lie within `SAME_PERSON` region sides of
    each other (one person, from neighbouring anchors or overlapping tiles) the best-scoring is
    kept. Hips, not boxes: the regions of two people walking side by side overlap by half, and the
    face boxes this model returns have a fixed size (a fifth of its input), so neither separates them."""
    kept: list[Person] = []
    for person in sorted(found, key=lambda item: -item.score):
        if all(
            np.hypot(*(person.region.centre - other.region.centre))
            >= SAME_PERSON * max(person.region.side, other.region.side)
            for other in kept
        ):
            kept.append(person)
    return kept


def tile_grid(width: int, height: int, side: int, overlap: float = 0.25) -> list[tuple[float, float, float]]:
    """Square tiles (x0, y0, side) covering a `width` x `height` frame, neighbours overlapping by
    `overlap` of a side so a person cut by one tile's edge is whole in the next; the whole frame
    (as one square) comes first, for people close to the camera."""
    whole = max(width, height)
    tiles = [((width - whole) / 2, (height - whole) / 2, float(whole))]
    if side >= 0.8 * whole:
        return tiles

    def starts(extent: int) -> list[float]:
        if extent <= side:
            return [(extent - side) / 2]
        count = int(np.ceil((extent - side) / (side * (1 - overlap)))) + 1
        return list(np.linspace(0, extent - side, count))

    return tiles + [(x, y, float(side)) for y in starts(height) for x in starts(width)]


class LandmarkModel:
    """BlazePose's landmark model on one person's region.

    `__call__(frame_rgb, region)` -> (score, keypoints float32 `[33, 4]` (x, y pixels, z scaled
    like x, visibility in [0, 1]), the region for the next frame); score is the model's
    pose-present probability."""

    def __init__(self, cv2: Any, threads: int = 1) -> None:
        self.cv2 = cv2
        self.interpreter = _interpreter(model_path("pose_landmark/pose_landmark_full.tflite"), threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}
        self.landmarks_output, self.score_output = outputs["Identity"], outputs["Identity_1"]

    def __call__(self, frame_rgb: np.ndarray, region: Region) -> tuple[float, np.ndarray, Region]:
        warp = region.warp(LANDMARK_SIDE)
        image = _crop(self.cv2, frame_rgb, warp, LANDMARK_SIDE).astype(np.float32) / 255.0
        self.interpreter.set_tensor(self.input, image[None])
        self.interpreter.invoke()
        score = float(self.interpreter.get_tensor(self.score_output).ravel()[0])
        raw = self.interpreter.get_tensor(self.landmarks_output).reshape(-1, 5)
        points = _to_frame(raw[:, :2].astype(float), warp)
        keypoints = np.empty((N_LANDMARKS, 4), np.float32)
        keypoints[:, :2] = points[:N_LANDMARKS]
        keypoints[:, 2] = raw[:N_LANDMARKS, 2] * region.side / LANDMARK_SIDE
        keypoints[:, 3] = _sigmoid(raw[:N_LANDMARKS, 3])
        return score, keypoints, Region.from_alignment(points[N_LANDMARKS], points[N_LANDMARKS + 1])
