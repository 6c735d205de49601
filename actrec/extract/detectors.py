"""MediaPipe's legacy `solutions` detectors, turned into `[J, 4]` keypoint arrays per frame.

MediaPipe is optional. Releases up to 0.10.21 ship the pose, hand and holistic models inside the
wheel (later ones download `.task` files at run time, which fails offline), and their declared
dependencies (numpy<2, protobuf<5) clash with actrec's, so it is installed with `--no-deps`:
see `MEDIAPIPE_INSTALL_HINT` and `scripts/install-video.sh`.

Channels are (x, y, z, visibility). x and y are pixels of the full frame; z is MediaPipe's
relative depth scaled like x (MediaPipe documents z on roughly the same scale as x), so the three
axes share one unit and angles are not stretched by the frame's aspect ratio. Hands carry no
visibility score in MediaPipe: their detected joints get 1.0.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from actrec.errors import ConfigError

MEDIAPIPE_INSTALL_HINT = (
    "pip install --no-deps mediapipe==0.10.21 && "
    "pip install opencv-python-headless 'protobuf>=6.31.1,<7' attrs matplotlib"
)
N_CHANNELS = 4
POSE_JOINTS = 33
HAND_JOINTS = 21


@dataclass(frozen=True)
class DetectorSpec:
    """A `--detector` choice: the skeleton schema its keypoints follow and how many joints."""

    name: str
    schema: str
    n_joints: int


DETECTORS: dict[str, DetectorSpec] = {
    "pose": DetectorSpec("pose", "mediapipe_pose", POSE_JOINTS),
    "hands": DetectorSpec("hands", "mediapipe_hand", HAND_JOINTS),
    "holistic": DetectorSpec("holistic", "mediapipe_holistic", POSE_JOINTS + 2 * HAND_JOINTS),
}


def detector_spec(name: str) -> DetectorSpec:
    """The spec of detector `name`; ConfigError listing the choices if unknown."""
    if name not in DETECTORS:
        raise ConfigError(f"unknown detector '{name}'; choose one of: {', '.join(DETECTORS)}")
    return DETECTORS[name]


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Hide native stderr output: importing MediaPipe 0.10.21 beside protobuf 6 prints a harmless
    `AttributeError ... GetPrototype` line from its C++ bindings (the Python side uses the newer
    `GetMessageClass`), which would read like a failure."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_solutions() -> Any:
    """`mediapipe.solutions`, or a ConfigError with the install command.

    protobuf 7 removed `FieldDescriptor.label`, which MediaPipe 0.10.x reads while building every
    graph, so that case is caught here instead of as an AttributeError deep inside MediaPipe.
    """
    try:
        with _quiet_stderr():
            from google.protobuf import __version__ as protobuf_version
            from mediapipe.python import solutions
    except ImportError:
        raise ConfigError(
            f"keypoint extraction needs MediaPipe, which is not installed; install it with: {MEDIAPIPE_INSTALL_HINT}"
        ) from None
    if int(protobuf_version.split(".")[0]) >= 7:
        raise ConfigError(
            f"MediaPipe 0.10 does not work with protobuf {protobuf_version}; install it with: pip install 'protobuf>=6.31.1,<7'"
        )
    return solutions


def _landmarks(landmark_list: Any, with_visibility: bool) -> np.ndarray:
    """float32 `[n, 4]` normalised (x, y, z, visibility) of a MediaPipe landmark list."""
    if with_visibility:
        rows = [(p.x, p.y, p.z, p.visibility) for p in landmark_list.landmark]
    else:
        rows = [(p.x, p.y, p.z, 1.0) for p in landmark_list.landmark]
    return np.asarray(rows, dtype=np.float32)


class MediaPipeDetector:
    """One MediaPipe graph, stateful across frames (it tracks the person): use one per video;
    `static_image_mode` makes every call independent (pose on crops of different people).

    `detect(frame_rgb)` returns float32 `[J, 4]` in normalised image units with NaN rows for
    joints not seen (a missing hand in holistic), or None when nothing was detected.
    """

    def __init__(self, name: str, min_detection_confidence: float = 0.5, static_image_mode: bool = False) -> None:
        self.spec = detector_spec(name)
        self._first_frame = True
        solutions = import_solutions()
        # MediaPipe 0.10.21 reads protobuf's deprecated FieldDescriptor.label while building its graph
        with _quiet_stderr(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if name == "pose":
                self._graph = solutions.pose.Pose(
                    static_image_mode=static_image_mode,
                    model_complexity=1,
                    min_detection_confidence=min_detection_confidence,
                )
            elif name == "hands":
                self._graph = solutions.hands.Hands(max_num_hands=1, min_detection_confidence=min_detection_confidence)
            else:
                self._graph = solutions.holistic.Holistic(
                    model_complexity=1, min_detection_confidence=min_detection_confidence
                )

    def detect(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        if self._first_frame:
            # the graph starts on the first frame, and TensorFlow Lite logs its set-up to stderr
            self._first_frame = False
            with _quiet_stderr():
                result = self._graph.process(frame_rgb)
        else:
            result = self._graph.process(frame_rgb)
        if self.spec.name == "pose":
            return None if result.pose_landmarks is None else _landmarks(result.pose_landmarks, True)
        if self.spec.name == "hands":
            hands = result.multi_hand_landmarks
            return _landmarks(hands[0], False) if hands else None
        parts = [
            (result.pose_landmarks, POSE_JOINTS, True),
            (result.left_hand_landmarks, HAND_JOINTS, False),
            (result.right_hand_landmarks, HAND_JOINTS, False),
        ]
        if all(found is None for found, _, _ in parts):
            return None
        return np.concatenate(
            [
                np.full((n, N_CHANNELS), np.nan, np.float32) if found is None else _landmarks(found, visible)
                for found, n, visible in parts
            ]
        )

    def close(self) -> None:
        self._graph.close()

    def __enter__(self) -> MediaPipeDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
