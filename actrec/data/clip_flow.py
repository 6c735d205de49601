"""Dense optical flow as pictures: the `flow` motion input, computed once per video.

OpenCV's DIS flow (Kroeger et al., 2016; the medium preset, a few ms per frame pair at 64 px)
from each frame to the next, on the frames as the cache stores them (RGB, short side resized).
Frame t's picture is the flow from frame t - 1 to t (zero for a video's first frame), so a video
of L frames gives L pictures and a live stream computes one per new frame. A picture is uint8
`[H, W, 3]`: horizontal and vertical motion as 128 + `FLOW_SCALE` x pixels (so +-12.7 px in 0.1 px
steps) and speed as `FLOW_SCALE` x pixels, so crops, resizes, the frame cache and the ImageNet
normalisation treat it like an RGB frame and every clip family reads it unchanged. A horizontal
flip of a picture also negates its horizontal motion (`negated`).

README's "Clip models in ONNX" repeats these steps in NumPy + OpenCV (flow cannot be a step of an
ONNX graph); a test checks that reference against `predict_proba`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOW_SCALE = 10.0
# what the stored pictures depend on besides the frames: a new method or scale is a new cache entry
FLOW_KEY = f"flow-dis-medium-{FLOW_SCALE:g}"


def _dis() -> Any:
    from actrec.io.clips import quiet_cv2

    cv2 = quiet_cv2()
    return cv2, cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def flow_picture(flow: np.ndarray) -> np.ndarray:
    """float32 flow `[H, W, 2]` (pixels) -> uint8 picture `[H, W, 3]` (see the module's docstring)."""
    speed = np.sqrt((flow**2).sum(-1, keepdims=True))
    picture = np.concatenate([128.0 + FLOW_SCALE * flow, FLOW_SCALE * speed], -1)
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8)


def flow_pictures(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB frames `[L, H, W, 3]` -> uint8 flow pictures `[L, H, W, 3]` (frame 0: no motion)."""
    cv2, dis = _dis()
    grey = [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]
    pictures = np.empty(frames.shape, dtype=np.uint8)
    pictures[0] = flow_picture(np.zeros((*frames.shape[1:3], 2), dtype=np.float32))
    for t in range(1, len(frames)):
        pictures[t] = flow_picture(dis.calc(grey[t - 1], grey[t], None))
    return pictures


class FlowSteps:
    """Flow pictures of a live stream, one per pushed RGB frame `[H, W, 3]` (the first: no motion)."""

    def __init__(self) -> None:
        self.cv2, self.dis = _dis()
        self.previous: np.ndarray | None = None

    def push(self, frame: np.ndarray) -> np.ndarray:
        grey = self.cv2.cvtColor(np.ascontiguousarray(frame), self.cv2.COLOR_RGB2GRAY)
        if self.previous is None:
            flow = np.zeros((*frame.shape[:2], 2), dtype=np.float32)
        else:
            flow = self.dis.calc(self.previous, grey, None)
        self.previous = grey
        return flow_picture(flow)


def negated(motion: np.ndarray) -> np.ndarray:
    """A picture's uint8 motion channel for the opposite motion (a horizontal flip negates the
    horizontal one)."""
    return np.clip(256 - motion.astype(np.int16), 0, 255).astype(np.uint8)
