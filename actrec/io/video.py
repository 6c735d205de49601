"""Video frames through OpenCV, with one-line errors for missing, unreadable or empty files.

OpenCV is an optional dependency (`scripts/install-video.sh` installs it with MediaPipe); it is
imported only when a video is opened, so the rest of actrec works without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import ConfigError, DataError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


@dataclass(frozen=True)
class VideoInfo:
    """What OpenCV reports about a video; `frame_count` is the container's estimate."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int


def import_cv2() -> Any:
    """The `cv2` module, or a ConfigError saying how to install it."""
    try:
        import cv2
    except ImportError:
        raise ConfigError(
            "reading video needs OpenCV, which is not installed; install it with: pip install opencv-python-headless"
        ) from None
    return cv2


class VideoReader:
    """An open video: `info` at once, then `frames()`; DataError if missing, empty or unreadable.

    Use as a context manager so the decoder is released even when the caller stops early.
    """

    def __init__(self, path: str | Path) -> None:
        cv2 = import_cv2()
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: video file not found; check the path")
        if self.path.stat().st_size == 0:
            raise DataError(f"{self.path}: video file is empty (0 bytes); re-copy or re-record it")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            self._capture.release()
            raise DataError(
                f"{self.path}: cannot be opened as a video (corrupt or unsupported codec); "
                "re-encode it, e.g. with ffmpeg to H.264 .mp4"
            )
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.info = VideoInfo(
            path=self.path,
            fps=fps if np.isfinite(fps) and fps > 0 else 0.0,
            frame_count=max(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0),
            width=int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
        )

    def frames(self, max_frames: int | None = None) -> Iterator[np.ndarray]:
        """BGR uint8 frames `[H, W, 3]` in order, at most `max_frames`; DataError if none decodes.

        Decoding stops at the first frame OpenCV cannot read, so a truncated file yields the
        frames before the damage (as players do) rather than failing.
        """
        count = 0
        while max_frames is None or count < max_frames:
            ok, frame = self._capture.read()
            if not ok or frame is None:
                break
            count += 1
            yield frame
        if count == 0:
            raise DataError(f"{self.path}: no frame could be decoded (empty or corrupt video); re-encode or replace it")

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def video_info(path: str | Path) -> VideoInfo:
    """fps, frame count and size of a video, checking that it opens."""
    with VideoReader(path) as video:
        return video.info


def find_videos(path: str | Path) -> list[Path]:
    """`path` itself if it is a file, else the video files under the folder (recursively, sorted)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such video file or folder; check the path")
    videos = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise DataError(f"{path}: folder holds no video files ({', '.join(VIDEO_SUFFIXES)})")
    return videos
