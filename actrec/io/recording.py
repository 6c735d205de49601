"""The per-video keypoint file shared by extraction, importers and dataset building.

One `.npz` per video holds `keypoints [T, J, C]` (NaN where the detector saw nothing), `present [T]`
(frames with a detection), `fps`, `frame_index [T]` (the video frame each row came from; 0..T-1
when a file leaves it out) and the skeleton `schema` name. Frames without a detection stay as NaN rows: never dropped, never zeroed.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actrec.errors import DataError
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
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if self.keypoints.ndim != 3:
            raise DataError(
                f"{self.source}: keypoints have shape {self.keypoints.shape}; expected [frames, joints, channels]"
            )
        n_frames = self.keypoints.shape[0]
        if n_frames == 0:
            raise DataError(f"{self.source}: recording holds no frames; re-extract the video or remove the file")
        self.present = np.asarray(self.present, dtype=bool).reshape(-1)
        self.frame_index = np.asarray(self.frame_index, dtype=np.int64).reshape(-1)
        for name, values in (("present", self.present), ("frame_index", self.frame_index)):
            if values.shape[0] != n_frames:
                raise DataError(f"{self.source}: {name} has {values.shape[0]} rows for {n_frames} frames")
        self.fps = float(self.fps)
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
            frame_index = data["frame_index"] if "frame_index" in data.files else np.arange(len(arrays["keypoints"]))
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: cannot read as .npz ({type(error).__name__}); the file may be truncated") from None
    return Recording(
        keypoints=arrays["keypoints"],
        present=arrays["present"],
        fps=float(arrays["fps"]),
        frame_index=frame_index,
        schema=schema_as_read(str(arrays["schema"]), path),
        source=str(path),
    )
