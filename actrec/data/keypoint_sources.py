"""Every keypoint source the toolkit writes or imports, read as recordings in a model's skeleton:
what `actrec predict` cuts into windows and `actrec stream` replays.

- a recording `.npz` (`actrec extract`, `actrec import`, `dataset generate`) or a folder of them;
- OpenPose `--write_json` folders, COCO-17 or MediaPipe JSON files (one, or a folder of them),
  imported on the fly by `io.imports`' readers, so no `actrec import` step comes first;
- a video, or a folder of videos: keypoints extracted on the fly (`extract.core`) by the smallest
  MediaPipe detector that has every joint of the model by name;
- a keypoint session CSV (`time` + one column per joint coordinate, by joint name or in the
  model's order; empty cells are undetected joints), read by `io.session` as `stream --source csv:`
  and `serve` read it; a MediaPipe landmark CSV (`frame` + landmark columns) is imported.

The source's joints are mapped onto the model's skeleton by name when they differ and the model's
C channels kept, so MediaPipe pose keypoints feed a COCO-17 model. JSON holds no frame rate except
MediaPipe's: the model's rate is taken.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from actrec.errors import ConfigError, DataError
from actrec.io.array_folder import is_array_folder
from actrec.io.recording import Recording, is_recording_file, load_recording
from actrec.io.video import VIDEO_SUFFIXES

CSV_SUFFIX = ".csv"


class FrameModel(Protocol):
    """What reading needs of a model (a `Recognizer` is one): the raw frame it takes (`(J, C)` for
    keypoints, `(F,)` for sensors), its sample rate, feature names and skeleton schema."""

    @property
    def frame_shape(self) -> tuple[int, ...]: ...
    @property
    def sample_rate_hz(self) -> float | None: ...
    @property
    def feature_names(self) -> list[str] | None: ...
    def skeleton(self) -> Any: ...


def is_keypoint_model(model: FrameModel) -> bool:
    """True for a model of `(J, C)` frames with a skeleton, which keypoint sources feed."""
    return len(tuple(model.frame_shape or ())) == 2 and model.skeleton() is not None


def is_keypoint_source(path: str | Path, model: FrameModel) -> bool:
    """True when `path` is read here rather than as a dataset file: a recording `.npz`, a folder
    (not an array folder), a JSON file, a video, or for a keypoint model a CSV without an `id`
    column: a session (`time`) or MediaPipe landmarks (`frame`); a long CSV with ids is a dataset file."""
    path = Path(path)
    if path.is_dir():
        return not is_array_folder(path)
    suffix = path.suffix.lower()
    if suffix == CSV_SUFFIX:
        return is_keypoint_model(model) and _csv_kind(path) is not None
    return is_recording_file(path) or suffix == ".json" or suffix in VIDEO_SUFFIXES


def _csv_kind(path: Path) -> str | None:
    """`session` for `time` + joint columns, `mediapipe` for MediaPipe landmarks by `frame`, None
    for a long CSV (an `id` column) or anything else."""
    try:
        with path.open(newline="") as file:
            header = {name.strip() for name in next(csv.reader(file), [])}
    except (OSError, UnicodeDecodeError):
        return None
    if "id" in header:
        return None
    return "session" if "time" in header else "mediapipe" if "frame" in header else None


def read_keypoint_source(path: str | Path, model: FrameModel) -> dict[str, Recording]:
    """Recordings by name (file stem, or a folder's path under `path`) of any source listed in the
    module docstring, keypoints `[T, J, C]` (`[T, P, J, C]` with tracked people) in the model's
    joints and channels, NaN where undetected."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path}: not found; give a recording .npz, a folder, a keypoint JSON, a video or a session CSV"
        )
    if path.is_dir():
        recordings = _read_folder(path, model)
    elif path.suffix.lower() == CSV_SUFFIX and _csv_kind(path) == "mediapipe":
        recordings = {path.stem: _import("mediapipe", path, model)}
    elif path.suffix.lower() == CSV_SUFFIX:
        recordings = {path.stem: session_recording(path, model)}
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        recordings = {path.stem: _extract(path, model)}
    elif path.suffix.lower() == ".json":
        recordings = {path.stem: _import(_json_format(path), path, model)}
    else:
        recordings = {path.stem: load_recording(path)}
    return {name: in_model_layout(recording, model) for name, recording in recordings.items()}


def _json_format(path: Path) -> str:
    from actrec.io.imports import keypoint_format

    kind = keypoint_format(path)
    if kind is None:
        raise DataError(
            f"{path}: not keypoints in a known JSON layout (OpenPose frames, COCO-17 detections, MediaPipe landmarks); "
            "see `actrec import --help`"
        )
    if kind == "openpose":
        raise DataError(f"{path}: one OpenPose frame; give the --write_json folder holding every frame of the video")
    return kind


def _read_folder(folder: Path, model: FrameModel) -> dict[str, Recording]:
    """Recording `.npz` files first; else keypoint JSON (each OpenPose folder, COCO or MediaPipe
    file one video); else videos."""
    from actrec.data.segments import load_recordings_dir
    from actrec.io.imports import keypoint_format, plan_imports
    from actrec.io.video import find_videos

    if any(folder.rglob("*.npz")):
        return {name: load_recording(file) for name, file in load_recordings_dir(folder).items()}
    kind = keypoint_format(folder)
    if kind is not None:
        return {
            target.with_suffix("").as_posix(): _import(kind, unit, model)
            for unit, target in plan_imports(kind, folder, Path())
        }
    if any(file.suffix.lower() in VIDEO_SUFFIXES for file in folder.rglob("*")):
        return {video.stem: _extract(video, model) for video in find_videos(folder)}
    raise DataError(
        f"{folder}: holds no recording .npz, keypoint JSON (OpenPose, COCO, MediaPipe) or video; "
        "give a folder of one of these"
    )


def _import(kind: str, unit: Path, model: FrameModel) -> Recording:
    """One video's keypoint JSON (or MediaPipe CSV) read by `kind`'s importer in `_import_schema`."""
    from actrec.io.imports import read_keypoint_file

    schema = _import_schema(kind, _keypoint_skeleton(model, unit))
    fps = None if kind == "mediapipe" else model.sample_rate_hz  # MediaPipe JSON may hold its own
    return read_keypoint_file(kind, unit, fps, schema, str(schema.name))


def _import_schema(kind: str, skeleton: Any) -> Any:
    """The skeleton `kind`'s files are read in: the format's own (the model's when it is one of the
    format's, so a BODY_25 model reads the body only); for MediaPipe landmarks, which the reader
    lays out by a skeleton's joints, the model's own skeleton unless its joints are MediaPipe pose's
    (a COCO-17 model on pose landmarks), so a custom YAML skeleton's CSV is read in that skeleton."""
    from actrec.io.imports import DEFAULT_SCHEMAS
    from actrec.skeletons import get_schema
    from actrec.skeletons.mapping import joint_index

    own = {"openpose": ("openpose_body25", "openpose_137"), "mediapipe": ("mediapipe_pose", "mediapipe_hand")}
    if skeleton.name in own.get(kind, ()):
        return skeleton
    default = get_schema(DEFAULT_SCHEMAS[kind])
    if kind == "mediapipe" and joint_index(default, skeleton) is None:
        return skeleton
    return default


def detector_for(skeleton: Any) -> tuple[str, np.ndarray]:
    """(MediaPipe detector name, int `[J]` where each of `skeleton`'s joints sits in its output):
    the smallest detector whose joints include the skeleton's by name."""
    from actrec.extract.detectors import DETECTORS
    from actrec.skeletons import get_schema
    from actrec.skeletons.mapping import joint_index

    for name, spec in sorted(DETECTORS.items(), key=lambda item: item[1].n_joints):
        index = joint_index(get_schema(spec.schema), skeleton)
        if index is not None:
            return name, index
    raise ConfigError(
        f"no MediaPipe detector gives every joint of the model's skeleton '{skeleton.name}'; "
        "extract keypoints yourself and give them as a recording, JSON or a csv: session"
    )


def _extract(video: Path, model: FrameModel) -> Recording:
    """The video's keypoints, extracted now (as `actrec extract` would write them)."""
    from actrec.extract.core import extract_video

    detector, _ = detector_for(_keypoint_skeleton(model, video))
    return extract_video(video, detector)


def _keypoint_skeleton(model: FrameModel, source: Path) -> Any:
    if not is_keypoint_model(model):
        raise ConfigError(
            f"{source}: keypoints go into a keypoint model; this one takes frames of shape {list(model.frame_shape)}"
        )
    return model.skeleton()


def read_model_session(path: str | Path, model: FrameModel, sequence_id: str | None = None) -> Any:
    """One session CSV as an `io.session.Session` in the model's feature order: for a keypoint
    model `J * C` columns, named `<joint>_<channel>` or in the model's order, empty cells NaN."""
    from actrec.io.session import read_session

    frame_shape = tuple(model.frame_shape or ())
    keypoints = len(frame_shape) > 1
    skeleton = model.skeleton() if keypoints else None
    joints = (
        (skeleton.joints, frame_shape[-1]) if skeleton is not None and len(skeleton.joints) == frame_shape[0] else None
    )
    n_features = int(np.prod(frame_shape)) if frame_shape else None
    return read_session(path, model.feature_names, n_features, sequence_id, allow_missing=keypoints, joints=joints)


def session_recording(path: str | Path, model: FrameModel, sequence_id: str | None = None) -> Recording:
    """A keypoint session CSV as a Recording `[T, J, C]` of the model's skeleton: a frame with no
    finite joint is not present; frame numbers from the times at the session's rate (integer times
    are frame numbers, at the model's rate)."""
    skeleton = _keypoint_skeleton(model, Path(path))
    session = read_model_session(path, model, sequence_id)
    keypoints = session.values.reshape((len(session.values), *model.frame_shape))
    rate = session.rate_hz or model.sample_rate_hz or 1.0
    frame_index = np.round(session.times * (session.rate_hz or 1.0)).astype(np.int64)
    present = np.isfinite(keypoints[..., : min(2, keypoints.shape[-1])]).all(-1).any(-1)
    return Recording(keypoints, present, rate, frame_index, skeleton.name, session.source)


def in_model_layout(recording: Recording, model: FrameModel) -> Recording:
    """`recording` with the model's joints (by name when the skeletons differ) and its C channels."""
    from actrec.skeletons import get_schema
    from actrec.skeletons.mapping import joint_index

    skeleton = _keypoint_skeleton(model, Path(recording.source))
    joints, channels = tuple(model.frame_shape)
    keypoints = recording.keypoints
    same_joints = recording.schema == skeleton.name and keypoints.shape[-2] == joints
    if not same_joints:
        index = joint_index(get_schema(recording.schema), skeleton)
        if index is None:
            raise DataError(
                f"{recording.source}: skeleton '{recording.schema}' lacks joints of the model's '{skeleton.name}'; "
                "give keypoints of the model's skeleton"
            )
        keypoints = keypoints[..., index, :]
    if keypoints.shape[-1] < channels:
        raise DataError(f"{recording.source}: {keypoints.shape[-1]} channels per joint but the model takes {channels}")
    if same_joints and keypoints.shape[-1] == channels:
        return recording
    return replace(recording, keypoints=keypoints[..., :channels], schema=skeleton.name)
