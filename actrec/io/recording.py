"""The per-video keypoint file shared by extraction, importers and dataset building.

One `.npz` per video holds `keypoints [T, J, C]` (NaN where the detector saw nothing), `present [T]`
(frames with a detection), `fps`, `frame_index [T]` (the video frame each row came from; 0..T-1
when a file leaves it out) and the skeleton `schema` name. Frames without a detection stay as NaN rows: never dropped, never zeroed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actrec.errors import DataError
from actrec.io.archive import ARRAY_FILE_ERRORS
from actrec.io.atomic import atomic_path
from actrec.io.schema_path import schema_as_read, schema_to_write

REQUIRED_KEYS = ("keypoints", "present", "fps", "schema")


@dataclass
class Recording:
    """Keypoints of one video.

    keypoints: float32 `[T, J, C]`, C = coordinates (+ confidence/visibility); NaN where undetected.
    present: bool `[T]`, False on frames with no detection (their keypoints are all NaN).
    fps: frames per second of `frame_index` (the video's rate).
    frame_index: int64 `[T]`, the video frame each row was read from (rows may skip frames).
    schema: skeleton schema name (`coco17`, `openpose_137`, ...) or a schema .yaml path (in the
        file, relative to the file's folder: see `io.schema_path`).
    source: the video or file this came from, quoted in messages.
    """

    keypoints: np.ndarray
    present: np.ndarray
    fps: float
    frame_index: np.ndarray
    schema: str
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.keypoints = _numbers(self.keypoints, "keypoints", self.source).astype(np.float32)
        if self.keypoints.ndim != 3 or 0 in self.keypoints.shape[1:]:
            raise DataError(
                f"{self.source}: keypoints have shape {self.keypoints.shape}; expected [frames, joints, channels]"
            )
        n_frames = self.keypoints.shape[0]
        if n_frames == 0:
            raise DataError(f"{self.source}: recording holds no frames; re-extract the video or remove the file")
        self.present = _numbers(self.present, "present", self.source).astype(bool).reshape(-1)
        frame_index = _numbers(self.frame_index, "frame_index", self.source).reshape(-1)
        if frame_index.dtype.kind == "f" and not np.all(np.isfinite(frame_index) & (frame_index == np.round(frame_index))):
            raise DataError(f"{self.source}: frame_index holds values that are not whole frame numbers; give each row's video frame")
        if np.abs(frame_index).max(initial=0) > 2**53:  # beyond this, frame / fps loses whole frames
            raise DataError(f"{self.source}: frame_index holds {np.abs(frame_index).max():g}; give each row's video frame")
        self.frame_index = frame_index.astype(np.int64)
        for name, values in (("present", self.present), ("frame_index", self.frame_index)):
            if values.shape[0] != n_frames:
                raise DataError(f"{self.source}: {name} has {values.shape[0]} rows for {n_frames} frames")
        fps = _numbers(self.fps, "fps", self.source)
        if fps.size != 1 or fps.dtype.kind == "b":
            raise DataError(f"{self.source}: fps has shape {fps.shape}; give the video's frame rate as one number")
        self.fps = float(fps.reshape(-1)[0])
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise DataError(f"{self.source}: fps is {self.fps}; give the video's frame rate (> 0)")
        if not self.schema:
            raise DataError(f"{self.source}: no skeleton schema name; set schema (e.g. 'coco17')")
        self.schema = str(self.schema)
        self.keypoints[~self.present] = np.nan

    @property
    def n_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def times(self) -> np.ndarray:
        """float64 `[T]`: seconds of each row from the start of the video."""
        return self.frame_index / self.fps


def _numbers(value: object, name: str, source: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise DataError(f"{source}: {name} has type {array.dtype}; it must hold numbers")
    return array


def _schema_name(value: np.ndarray, source: str) -> str:
    """The one string a recording stores as its schema (name or .yaml path)."""
    if value.size != 1 or value.dtype.kind not in "US":
        raise DataError(f"{source}: schema is {value.dtype} of shape {value.shape}; store the skeleton schema's name as one string")
    try:
        return str(value.reshape(-1).astype(str)[0])
    except UnicodeDecodeError:
        raise DataError(f"{source}: schema holds bytes that are not ASCII text; store it as a str") from None


def save_recording(path: str | Path, recording: Recording) -> None:
    """Write `recording` to `path` (.npz, compressed) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                keypoints=recording.keypoints,
                present=recording.present,
                fps=np.float64(recording.fps),
                frame_index=recording.frame_index,
                schema=np.asarray(schema_to_write(recording.schema, path)),
                source=np.asarray(str(recording.source)),
            )


def load_recording(path: str | Path) -> Recording:
    """Read a recording `.npz`; one-line DataError naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: recording not found; check the path or run `actrec extract` first")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in REQUIRED_KEYS if key not in data.files]
            if missing:
                raise DataError(
                    f"{path}: not a keypoint recording (missing {', '.join(missing)}); "
                    "write it with actrec extract or actrec.io.recording.save_recording"
                )
            arrays = {key: data[key] for key in REQUIRED_KEYS}
            # a recording written by other tools may leave out frame_index: rows are then frames 0..T-1
            frame_index = data["frame_index"] if "frame_index" in data.files else np.arange(arrays["keypoints"].shape[0] if arrays["keypoints"].ndim else 0)
    except DataError:
        raise
    except ARRAY_FILE_ERRORS as error:
        raise DataError(f"{path}: cannot read as .npz ({type(error).__name__}); the file may be truncated") from None
    return Recording(
        keypoints=arrays["keypoints"],
        present=arrays["present"],
        fps=arrays["fps"],
        frame_index=frame_index,
        schema=schema_as_read(_schema_name(arrays["schema"], str(path)), path),
        source=str(path),
    )
