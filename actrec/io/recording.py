"""The per-video keypoint file shared by extraction, importers and dataset building.

One `.npz` per video holds `keypoints [T, J, C]` (NaN where the detector saw nothing), `present [T]`
(frames with a detection), `fps`, `frame_index [T]` (the video frame each row came from; 0..T-1
when a file leaves it out) and the skeleton `schema` name. Frames without a detection stay as NaN rows: never dropped, never zeroed.

Several people (`actrec extract --people`) add a person axis: `keypoints [T, P, J, C]`,
`present [T, P]` and `track_id [P]` (the tracker's id of each person column). Single-person files
keep the layout above; `Recording.people()` gives one single-person Recording per track either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import DataError
from actrec.io.archive import ARRAY_FILE_ERRORS
from actrec.io.array_limits import ArrayLimits, check_npz
from actrec.io.atomic import atomic_path
from actrec.io.schema_path import schema_as_read, schema_to_write

REQUIRED_KEYS = ("keypoints", "present", "fps", "schema")


@dataclass
class Recording:
    """Keypoints of one video.

    keypoints: float32 `[T, J, C]`, C = coordinates (+ confidence/visibility); NaN where undetected;
      or `[T, P, J, C]` for P tracked people.
    present: bool `[T]` (`[T, P]` with people), False on frames with no detection (their keypoints
      are all NaN).
    fps: frames per second of `frame_index` (the video's rate).
    frame_index: int64 `[T]`, the video frame each row was read from (rows may skip frames).
    schema: skeleton schema name (`coco17`, `openpose_137`, ...) or a schema .yaml path (in the
        file, relative to the file's folder: see `io.schema_path`).
    source: the video or file this came from, quoted in messages.
    track_id: int64 `[P]` with a person axis (the track of each person column), else None.
    """

    keypoints: np.ndarray
    present: np.ndarray
    fps: float
    frame_index: np.ndarray
    schema: str
    source: str = "<memory>"
    track_id: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.keypoints = _numbers(self.keypoints, "keypoints", self.source).astype(np.float32)
        if (
            self.keypoints.ndim not in (3, 4)
            or (self.keypoints.ndim == 4) != (self.track_id is not None)
            or 0 in self.keypoints.shape[1:]
        ):
            raise DataError(
                f"{self.source}: keypoints have shape {self.keypoints.shape}; expected [frames, joints, channels], "
                "or [frames, people, joints, channels] with a track_id per person"
            )
        n_frames = self.keypoints.shape[0]
        if n_frames == 0:
            raise DataError(f"{self.source}: recording holds no frames; re-extract the video or remove the file")
        if self.track_id is None:
            self.present = _numbers(self.present, "present", self.source).astype(bool).reshape(-1)
        else:
            self.track_id = _numbers(self.track_id, "track_id", self.source).astype(np.int64).reshape(-1)
            self.present = _numbers(self.present, "present", self.source).astype(bool)
            n_people = self.keypoints.shape[1]
            if self.track_id.shape[0] != n_people or self.present.shape != (n_frames, n_people):
                raise DataError(
                    f"{self.source}: {n_people} people need track_id [{n_people}] and present [{n_frames}, {n_people}]; "
                    f"got {self.track_id.shape} and {self.present.shape}"
                )
            if len(set(self.track_id.tolist())) != n_people:
                raise DataError(
                    f"{self.source}: track ids {self.track_id.tolist()} repeat; give each person column its own id"
                )
        frame_index = _numbers(self.frame_index, "frame_index", self.source).reshape(-1)
        if frame_index.dtype.kind == "f" and not np.all(
            np.isfinite(frame_index) & (frame_index == np.round(frame_index))
        ):
            raise DataError(
                f"{self.source}: frame_index holds values that are not whole frame numbers; give each row's video frame"
            )
        if np.abs(frame_index).max(initial=0) > 2**53:  # beyond this, frame / fps loses whole frames
            raise DataError(
                f"{self.source}: frame_index holds {np.abs(frame_index).max():g}; give each row's video frame"
            )
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
    def has_people_axis(self) -> bool:
        return self.track_id is not None

    def people(self) -> list[tuple[int | None, Recording]]:
        """(track id, single-person Recording `[T, J, C]`) per person; `[(None, self)]` without a
        person axis. A person's rows cover the whole video, NaN where they are not seen."""
        if self.track_id is None:
            return [(None, self)]
        return [
            (
                int(track),
                Recording(
                    self.keypoints[:, column],
                    self.present[:, column],
                    self.fps,
                    self.frame_index,
                    self.schema,
                    f"{self.source}#track{int(track)}",
                ),
            )
            for column, track in enumerate(self.track_id)
        ]

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
        raise DataError(
            f"{source}: schema is {value.dtype} of shape {value.shape}; store the skeleton schema's name as one string"
        )
    try:
        return str(value.reshape(-1).astype(str)[0])
    except UnicodeDecodeError:
        raise DataError(f"{source}: schema holds bytes that are not ASCII text; store it as a str") from None


def save_recording(path: str | Path, recording: Recording) -> None:
    """Write `recording` to `path` (.npz, compressed) atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        arrays: dict[str, Any] = {
            "keypoints": recording.keypoints,
            "present": recording.present,
            "fps": np.float64(recording.fps),
            "frame_index": recording.frame_index,
            "schema": np.asarray(schema_to_write(recording.schema, path)),
            "source": np.asarray(str(recording.source)),
        }
        if recording.track_id is not None:
            arrays["track_id"] = recording.track_id
        np.savez_compressed(handle, **arrays)


def is_recording_file(path: str | Path) -> bool:
    """A `.npz` holding a recording's keypoints and no dataset `X` (so a dataset is never mistaken
    for one); False for anything unreadable, which the dataset reader then reports."""
    path = Path(path)
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return "keypoints" in data.files and "X" not in data.files
    except ARRAY_FILE_ERRORS:
        return False


def load_recording(path: str | Path) -> Recording:
    """Read a recording `.npz`; one-line DataError naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: recording not found; check the path or run `actrec extract` first")
    try:
        check_npz(path, ArrayLimits.default())  # before numpy allocates or inflates what it declares
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in REQUIRED_KEYS if key not in data.files]
            if missing:
                raise DataError(
                    f"{path}: not a keypoint recording (missing {', '.join(missing)}); "
                    "write it with actrec extract or actrec.io.recording.save_recording"
                )
            arrays = {key: data[key] for key in REQUIRED_KEYS}
            # a recording written by other tools may leave out frame_index: rows are then frames 0..T-1
            frame_index = (
                data["frame_index"]
                if "frame_index" in data.files
                else np.arange(arrays["keypoints"].shape[0] if arrays["keypoints"].ndim else 0)
            )
            track_id = data["track_id"] if "track_id" in data.files else None
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
        track_id=track_id,
    )
