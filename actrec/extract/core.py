"""One video -> one `Recording`: the per-frame loop that `actrec extract` runs and bench/ times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actrec.errors import ConfigError, DataError
from actrec.extract.detectors import N_CHANNELS, MediaPipeDetector, detector_spec
from actrec.io.recording import Recording
from actrec.io.video import VideoReader, import_cv2

PROGRESS_EVERY = 10


@dataclass(frozen=True)
class Crop:
    """A pixel rectangle of the frame to run the detector on.

    MediaPipe's pose model looks for one person filling a good part of the image; in wide shots
    (a courtyard seen from a window) people are too small to be found until the frame is cropped
    to where they are. Keypoints are still given in full-frame pixels.
    """

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> Crop:
        """`"X,Y,W,H"` in pixels, e.g. `"540,180,228,256"`."""
        try:
            x, y, width, height = (int(v) for v in text.split(","))
        except ValueError:
            raise ConfigError(f"--crop '{text}': give X,Y,WIDTH,HEIGHT in whole pixels, e.g. 540,180,228,256") from None
        if x < 0 or y < 0 or width <= 0 or height <= 0:
            raise ConfigError(f"--crop '{text}': X and Y must be >= 0 and WIDTH, HEIGHT > 0")
        return cls(x, y, width, height)


def extract_video(
    path: str | Path,
    detector: str = "pose",
    crop: Crop | None = None,
    max_frames: int | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> Recording:
    """Run detector `detector` (pose|hands|holistic) on every frame of the video at `path`.

    Returns a Recording with keypoints float32 `[T, J, 4]` (x, y in pixels, z, visibility), one row
    per decoded frame: frames with no detection are NaN with `present=False`, never dropped.
    `max_frames` stops early; `on_frames(n)` is called with the count of newly done frames.
    """
    spec = detector_spec(detector)
    cv2 = import_cv2()
    rows: list[np.ndarray | None] = []
    pending = 0
    with VideoReader(path) as video, MediaPipeDetector(detector) as model:
        if video.info.fps <= 0:
            raise DataError(f"{path}: the video reports no frame rate; re-encode it (e.g. ffmpeg -r 30)")
        region: Crop | None = None
        for frame in video.frames(max_frames):
            if region is None:
                region = _clip_crop(crop, frame.shape[1], frame.shape[0], path)
                scale = np.array([region.width, region.height, region.width, 1.0], dtype=np.float32)
                offset = np.array([region.x, region.y, 0.0, 0.0], dtype=np.float32)
            if crop is not None:
                frame = frame[region.y : region.y + region.height, region.x : region.x + region.width]
            found = model.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            rows.append(None if found is None else found * scale + offset)
            pending += 1
            if on_frames is not None and pending == PROGRESS_EVERY:
                on_frames(pending)
                pending = 0
        fps = video.info.fps
    if on_frames is not None and pending:
        on_frames(pending)
    keypoints = np.full((len(rows), spec.n_joints, N_CHANNELS), np.nan, dtype=np.float32)
    present = np.zeros(len(rows), dtype=bool)
    for index, found in enumerate(rows):
        if found is not None:
            keypoints[index] = found
            present[index] = True
    return Recording(
        keypoints=keypoints,
        present=present,
        fps=fps,
        frame_index=np.arange(len(rows)),
        schema=spec.schema,
        source=str(path),
    )


def _clip_crop(crop: Crop | None, width: int, height: int, path: str | Path) -> Crop:
    """The crop limited to the frame (the whole frame without one); ConfigError if it misses it."""
    if crop is None:
        return Crop(0, 0, width, height)
    right, bottom = min(crop.x + crop.width, width), min(crop.y + crop.height, height)
    if right <= crop.x or bottom <= crop.y:
        raise ConfigError(
            f"{path}: --crop {crop.x},{crop.y},{crop.width},{crop.height} lies outside the {width}x{height} frame"
        )
    return Crop(crop.x, crop.y, right - crop.x, bottom - crop.y)
