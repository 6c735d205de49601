"""Clip files: a folder per class of video files, or a CSV `path,label[,group][,start,end]`.

Videos are decoded once (OpenCV, in DataLoader workers when asked) into uint8 RGB frames
`[L, H, W, 3]` resized so the short side is `short_side`, and kept as `.npy` files memory-mapped
on later reads, so epochs after the first never decode again. A corrupt, empty or too-short video
becomes one line naming the file (skipped, or raised as a DataError with `stop`), never a
decoder traceback.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import DataError
from actrec.io.array_folder import is_array_folder
from actrec.io.video import VIDEO_SUFFIXES, find_videos


def is_clip_spec(spec: str | Path) -> bool:
    """True for a folder holding videos (not an array folder of windows), a single video file, or a CSV whose first column is `path`."""
    path = Path(spec)
    if path.is_dir():
        return not is_array_folder(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    if path.suffix.lower() == ".csv" and path.is_file():
        with open(path, encoding="utf-8", errors="replace") as handle:
            header = handle.readline().strip().lower().split(",")
        return bool(header) and header[0].strip() == "path"
    return False


@dataclass(frozen=True)
class ClipFiles:
    """A clip spec as read: `paths [N]` video files, `labels [N]` raw label texts (None when
    unlabelled), `row_ids [N]` how messages name each clip, `groups [N]` strings or None,
    `start_s` / `end_s` `[N]` seconds to cut (NaN: whole) or None, `source` quoted in messages.
    `actrec.data.clips.load_clips` turns it into a labelled `ClipList`."""

    paths: list[Path]
    labels: np.ndarray | None
    row_ids: list[str]
    source: str
    groups: np.ndarray | None = None
    start_s: np.ndarray | None = None
    end_s: np.ndarray | None = None


def read_clips(spec: str | Path) -> ClipFiles:
    """A clip folder (`class/video.mp4`; videos directly in the folder are unlabelled), a single
    video, or a clips CSV (`path,label[,group][,start,end]`, paths relative to the CSV)."""
    path = Path(spec)
    if path.suffix.lower() == ".csv":
        return _from_csv(path)
    videos = find_videos(path)
    source = str(path)
    ids = [str(video) for video in videos]
    if path.is_file() or all(video.parent == path for video in videos):
        return ClipFiles(videos, None, ids, source)
    loose = [video for video in videos if video.parent == path]
    if loose:
        raise DataError(f"{loose[0]}: video outside a class folder; put every video in a folder named after its class")
    return ClipFiles(
        videos, np.array([video.relative_to(path).parts[0] for video in videos], dtype=object), ids, source
    )


def _from_csv(path: Path) -> ClipFiles:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{path}: file not found; check the --data path")
    table = pd.read_csv(path, dtype={"path": str, "label": str, "group": str})
    if "path" not in table.columns:
        raise DataError(f"{path}: a clips CSV needs a 'path' column (path,label[,group][,start,end])")
    if table.empty:
        raise DataError(f"{path}: no rows; list one video per row")
    paths = [Path(p) if Path(p).is_absolute() else path.parent / p for p in table["path"]]
    for row, video in enumerate(paths, start=2):
        if not video.is_file():
            raise DataError(f"{path} row {row}: video {video} not found; fix the path or remove the row")
    labels = table["label"].to_numpy(dtype=object) if "label" in table.columns else None
    seconds = lambda column: table[column].astype(float).to_numpy() if column in table.columns else None
    groups = table["group"].astype(str).to_numpy(dtype=object) if "group" in table.columns else None
    return ClipFiles(
        paths, labels, [f"row {i + 2}" for i in range(len(table))], str(path), groups, seconds("start"), seconds("end")
    )


# -------------------------------------------------------------------------------------- decoding
def quiet_cv2() -> Any:
    """The `cv2` module with FFmpeg's own log silenced (or a ConfigError saying how to install it)."""
    # FFmpeg inside OpenCV prints its own complaints ("moov atom not found") on stderr; the one
    # line actrec prints is enough, so keep FFmpeg quiet (read when OpenCV opens a file).
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    from actrec.io.video import import_cv2

    return import_cv2()


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    cv2 = quiet_cv2()
    height, width = frame.shape[:2]
    scale = short_side / min(height, width)
    if scale == 1.0:
        return frame
    size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def decode_video(
    path: Path, short_side: int, start_s: float | None = None, end_s: float | None = None
) -> tuple[np.ndarray, float]:
    """(uint8 RGB frames `[L, H, W, 3]` with short side `short_side`, fps); DataError when the file
    is missing, empty, unreadable or yields no frame in [start_s, end_s)."""
    cv2 = quiet_cv2()
    if not path.is_file():
        raise DataError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: video file is empty (0 bytes)")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DataError(f"{path}: cannot be opened as a video (corrupt or unsupported codec)")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if np.isfinite(fps) and fps > 0 else 25.0
        first = 0 if start_s is None else int(round(start_s * fps))
        last = None if end_s is None else int(round(end_s * fps))
        frames, index = [], 0
        while last is None or index < last:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            if index >= first:
                frames.append(resize_short_side(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), short_side))
            index += 1
    finally:
        capture.release()
    if not frames:
        raise DataError(f"{path}: no frame could be decoded (empty, corrupt or a cut outside the video)")
    return np.stack(frames), fps


class FrameCache:
    """Decoded clips as `.npy` files in `folder`, keyed by file, size, mtime, short side and cut."""

    def __init__(self, folder: str | Path, short_side: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.short_side = short_side

    def path_for(self, video: Path, span: tuple[float | None, float | None]) -> Path:
        stat = video.stat()
        key = f"{video.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{self.short_side}|{span}"
        return self.folder / f"{hashlib.sha1(key.encode()).hexdigest()[:24]}.npy"

    def frames(self, video: Path, span: tuple[float | None, float | None] = (None, None)) -> np.ndarray:
        """`[L, H, W, 3]` uint8, memory-mapped; decoded (and stored) on first use."""
        target = self.path_for(video, span)
        if not target.is_file():
            _store(target, decode_video(video, self.short_side, *span)[0])
        return np.load(target, mmap_mode="r")

    def derived(
        self,
        video: Path,
        span: tuple[float | None, float | None],
        key: str,
        compute: Callable[[np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """`compute(frames)` of a video's frames, memory-mapped; computed (and stored under `key`,
        which names the computation) on first use, so each video's derived pictures (optical
        flow) are computed once, like its decoding."""
        frames_file = self.path_for(video, span)
        target = frames_file.with_name(f"{frames_file.stem}.{key}.npy")
        if not target.is_file():
            _store(target, compute(np.asarray(self.frames(video, span))))
        return np.load(target, mmap_mode="r")


def _store(target: Path, array: np.ndarray) -> None:
    """Write `array` beside `target` and rename it into place (a reader never sees half a file)."""
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, target)
