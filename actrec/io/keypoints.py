"""Importers for keypoints people already have: OpenPose JSON, COCO-17 JSON, MediaPipe JSON/CSV.

Each returns a `Recording` (keypoints `[T, J, C]`, NaN where undetected) ready for
`save_recording` and the dataset builders. Frames without a person become NaN rows with
`present = False`; they are never dropped. The OpenPose and MediaPipe readers lay joints out in a
skeleton's order: they take it as a `JointTable` (an `actrec.skeletons.Schema` is one), resolved
by the caller, so io never imports the skeletons layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from actrec.errors import DataError
from actrec.io.recording import Recording


class JointTable(Protocol):
    """What the importers read of a skeleton schema: its name (stored in the recording), its joint
    names in order and the position of a joint given by name or index (a DataError if unknown)."""

    @property
    def name(self) -> str: ...
    @property
    def joints(self) -> list[str]: ...
    def index(self, joint: str | int) -> int: ...


OPENPOSE_PARTS = (
    ("pose_keypoints_2d", 25),
    ("face_keypoints_2d", 70),
    ("hand_left_keypoints_2d", 21),
    ("hand_right_keypoints_2d", 21),
)
_FRAME_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def read_json(path: Path) -> Any:
    """A JSON file's content; a one-line DataError when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({type(error).__name__})") from None
    except json.JSONDecodeError as error:
        raise DataError(
            f"{path} line {error.lineno}: not valid JSON ({error.msg}); the file may be truncated"
        ) from None


def _recording(keypoints: np.ndarray, frame_index: Sequence[int], fps: float, schema: str, source: str) -> Recording:
    """Zero-confidence -> NaN already done by callers; present = any finite coordinate."""
    present = np.isfinite(keypoints[..., :2]).all(-1).any(-1)
    return Recording(keypoints, present, fps, np.asarray(frame_index), schema, source)


def read_openpose_json(
    folder: str | Path, skeleton: JointTable, fps: float = 30.0, person: str = "confident", schema: str | None = None
) -> Recording:
    """An OpenPose `--write_json` folder (one `*_keypoints.json` per frame) -> `[T, 137, 3]`.

    Joints follow `pose_keypoints_2d` (BODY_25), `face_keypoints_2d` (70),
    `hand_left_keypoints_2d`, `hand_right_keypoints_2d` (21 each); channels x, y, confidence.
    Confidence 0 means undetected and becomes NaN. `skeleton`: the `openpose_137` schema, or
    `openpose_body25` (any 25-joint schema) to keep the body only.
    person: "confident" (highest mean body confidence) or "first". Frame numbers come from the
    last number in each file name (OpenPose writes `<video>_000000000042_keypoints.json`);
    OpenPose JSON holds no frame rate, so give `fps`. schema: what the recording stores as its
    schema (default `skeleton.name`; give a schema .yaml path as such so the file can find it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: OpenPose JSON folder not found")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DataError(f"{folder}: holds no .json files; point at OpenPose's --write_json folder")
    if person not in ("confident", "first"):
        raise DataError(f"person '{person}' is unknown; use confident or first")
    n_joints = len(skeleton.joints)
    if n_joints not in (25, 137):
        raise DataError(
            f"schema '{schema or skeleton.name}' has {n_joints} joints; OpenPose JSON gives 25 (body) or 137 (all parts)"
        )
    parts = OPENPOSE_PARTS[:1] if n_joints == 25 else OPENPOSE_PARTS
    found = [_FRAME_NUMBER.search(f.stem.replace("_keypoints", "")) for f in files]
    numbers = [int(m.group(1)) for m in found if m is not None]
    if len(numbers) == len(files) and len(set(numbers)) == len(files):
        order = sorted(range(len(files)), key=lambda i: numbers[i])
        frame_index = [numbers[i] for i in order]
    else:
        order, frame_index = list(range(len(files))), list(range(len(files)))
    keypoints = np.full((len(files), n_joints, 3), np.nan, dtype=np.float32)
    for row, i in enumerate(order):
        data = read_json(files[i])
        people = data.get("people") if isinstance(data, dict) else None
        if people is None:
            raise DataError(f"{files[i]}: no 'people' list; not an OpenPose keypoints file")
        if people:
            keypoints[row] = _openpose_person(people, parts, person, files[i])
    return _recording(keypoints, frame_index, fps, schema or skeleton.name, str(folder))


def _openpose_person(people: list, parts: Sequence[tuple[str, int]], person: str, path: Path) -> np.ndarray:
    candidates = []
    for number, entry in enumerate(people):
        blocks = []
        for key, size in parts:
            values = np.asarray(entry.get(key) or [np.nan] * (3 * size), dtype=np.float32)
            if values.size != 3 * size:
                raise DataError(
                    f"{path}: person {number} {key} has {values.size} values; expected {3 * size} (x, y, c per joint)"
                )
            blocks.append(values.reshape(size, 3))
        joints = np.concatenate(blocks)
        joints[~(joints[:, 2] > 0)] = np.nan
        candidates.append(joints)
    if person == "first":
        return candidates[0]
    body = [np.nan_to_num(np.nanmean(c[:25, 2])) if np.isfinite(c[:25, 2]).any() else 0.0 for c in candidates]
    return candidates[int(np.argmax(body))]


def read_coco_json(path: str | Path, fps: float = 30.0) -> Recording:
    """COCO-17 keypoints for one video -> `[T, 17, 3]` (x, y, score), one person per frame.

    Accepts a detection results list (`[{"image_id", "keypoints": [51 values], "score"}]`, the
    COCO format MMPose and Detectron2 write), a COCO dict with `annotations` (and `images`), or
    MMPose's `[{"frame_id", "instances": [{"keypoints", "keypoint_scores"}]}]`. The most confident
    person of each frame is kept; score or visibility 0 -> NaN. Integer image ids are frame
    numbers: ids with no detection between the first and last become missing frames.
    """
    path = Path(path)
    data = read_json(path)
    frames: dict[Any, tuple[float, np.ndarray]] = {}
    all_ids: list[Any] = []
    if isinstance(data, dict):
        all_ids = [image.get("id") for image in data.get("images", [])]
        data = data.get("annotations")
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a list of keypoint detections or a COCO dict with 'annotations'")
    for number, entry in enumerate(data):
        for frame_id, joints in _coco_entries(entry, number, path):
            score = float(np.nanmean(joints[:, 2])) if np.isfinite(joints[:, 2]).any() else 0.0
            if frame_id not in frames or score > frames[frame_id][0]:
                frames[frame_id] = (score, joints)
    ids = list(dict.fromkeys([*all_ids, *frames]))
    if not ids:
        raise DataError(f"{path}: holds no keypoint detections")
    if all(isinstance(i, int) for i in ids):
        ids = list(range(min(ids), max(ids) + 1))
    else:
        ids = sorted(ids, key=str)
    keypoints = np.full((len(ids), 17, 3), np.nan, dtype=np.float32)
    for row, frame_id in enumerate(ids):
        if frame_id in frames:
            keypoints[row] = frames[frame_id][1]
    frame_index = ids if all(isinstance(i, int) for i in ids) else range(len(ids))
    return _recording(keypoints, list(frame_index), fps, "coco17", str(path))


def _coco_entries(entry: Any, number: int, path: Path) -> list[tuple[Any, np.ndarray]]:
    """(frame id, `[17, 3]` joints with NaN where undetected) of one list entry."""
    if not isinstance(entry, dict):
        raise DataError(f"{path}: entry {number} is not an object")
    if "instances" in entry:
        out = []
        for instance in entry["instances"]:
            xy = np.asarray(instance.get("keypoints", []), dtype=np.float32).reshape(-1, 2)
            scores = np.asarray(instance.get("keypoint_scores", np.ones(len(xy))), dtype=np.float32).reshape(-1, 1)
            out.append((entry.get("frame_id", number), _coco_joints(np.hstack([xy, scores]), path, number)))
        return out
    if "keypoints" not in entry:
        raise DataError(f"{path}: entry {number} has no 'keypoints'; expected COCO keypoint results")
    values = np.asarray(entry["keypoints"], dtype=np.float32)
    if values.size != 51:
        raise DataError(f"{path}: entry {number} has {values.size} keypoint values; COCO-17 needs 51 (x, y, score)")
    return [(entry.get("image_id", number), _coco_joints(values.reshape(17, 3), path, number))]


def _coco_joints(joints: np.ndarray, path: Path, number: int) -> np.ndarray:
    if joints.shape != (17, 3):
        raise DataError(f"{path}: entry {number} has {len(joints)} keypoints; COCO-17 needs 17")
    joints = joints.copy()
    joints[~(joints[:, 2] > 0)] = np.nan
    return joints


def read_mediapipe(
    path: str | Path, skeleton: JointTable, fps: float | None = None, schema: str | None = None
) -> Recording:
    """MediaPipe landmarks saved as JSON or CSV -> `[T, J, C]` in `skeleton`'s joint order
    (the `mediapipe_pose`, `mediapipe_hand`, ... schema).

    JSON: a list of frames, or `{"fps": 30, "frames": [...]}`; each frame is a list of landmarks,
    or an object with `landmarks`/`landmark` (and optionally `frame`); a landmark is
    `{"x", "y", "z", "visibility"}` or `[x, y, z, visibility]`; null/empty = no detection.
    CSV, long: `frame,landmark,x,y[,z][,visibility]` (landmark = index or joint name);
    CSV, wide: `frame,<joint>_x,<joint>_y[,<joint>_z][,<joint>_visibility]` (joint = name or index).
    Channels kept: x, y, then z and visibility where the file has them. fps defaults to 30.
    schema: what the recording stores as its schema (default `skeleton.name`).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: MediaPipe landmark file not found")
    if path.suffix.lower() == ".csv":
        keypoints, frame_index = _mediapipe_csv(path, skeleton)
    else:
        data = read_json(path)
        if isinstance(data, dict):
            fps = fps or data.get("fps")
            data = data.get("frames")
        if not isinstance(data, list):
            raise DataError(f'{path}: expected a list of frames or {{"fps", "frames"}}')
        keypoints, frame_index = _mediapipe_frames(data, len(skeleton.joints), path)
    return _recording(keypoints, frame_index, fps or 30.0, schema or skeleton.name, str(path))


_CHANNELS = ("x", "y", "z", "visibility")


def _mediapipe_frames(frames: list, n_joints: int, path: Path) -> tuple[np.ndarray, list[int]]:
    rows, frame_index = [], []
    for number, frame in enumerate(frames):
        landmarks = frame
        if isinstance(frame, dict):
            landmarks = frame.get("landmarks", frame.get("landmark"))
            frame_index.append(int(frame.get("frame", number)))
        else:
            frame_index.append(number)
        joints = np.full((n_joints, 4), np.nan, dtype=np.float32)
        if landmarks:
            if len(landmarks) != n_joints:
                raise DataError(f"{path}: frame {number} has {len(landmarks)} landmarks; the schema has {n_joints}")
            for j, mark in enumerate(landmarks):
                values = [mark.get(c, np.nan) for c in _CHANNELS] if isinstance(mark, dict) else list(mark)[:4]
                joints[j, : len(values)] = values
        rows.append(joints)
    if not rows:
        raise DataError(f"{path}: holds no frames")
    keypoints = np.stack(rows)
    return _drop_empty_channels(keypoints), frame_index


def _mediapipe_csv(path: Path, skeleton: JointTable) -> tuple[np.ndarray, list[int]]:
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV ({type(error).__name__})") from None
    if "frame" not in table.columns:
        raise DataError(f"{path}: no 'frame' column; expected frame,landmark,x,y,... or frame,<joint>_x,...")
    frames = np.sort(table["frame"].unique()).astype(int)
    keypoints = np.full((len(frames), len(skeleton.joints), 4), np.nan, dtype=np.float32)
    row_of = {frame: row for row, frame in enumerate(frames)}
    rows = table["frame"].map(row_of).to_numpy()
    if "landmark" in table.columns:
        if not {"x", "y"} <= set(table.columns):
            raise DataError(f"{path}: long landmark CSV needs columns x and y")
        joints = np.array([skeleton.index(int(m) if str(m).isdigit() else str(m)) for m in table["landmark"]])
        for c, channel in enumerate(_CHANNELS):
            if channel in table.columns:
                keypoints[rows, joints, c] = table[channel].to_numpy(dtype=np.float32)
    else:
        matched = False
        for column in table.columns:
            joint, _, channel = str(column).rpartition("_")
            if channel in _CHANNELS and joint:
                j = skeleton.index(int(joint) if joint.isdigit() else joint)
                keypoints[rows, j, _CHANNELS.index(channel)] = table[column].to_numpy(dtype=np.float32)
                matched = True
        if not matched:
            raise DataError(f"{path}: no <joint>_x/_y columns and no landmark column; see read_mediapipe's formats")
    return _drop_empty_channels(keypoints), frames.tolist()


def _drop_empty_channels(keypoints: np.ndarray) -> np.ndarray:
    """x, y, z, visibility -> drop the trailing channels the file does not hold; a file with
    visibility but no z gets z = 0 so channel 2 is always z."""
    has_z, has_visibility = (np.isfinite(keypoints[..., c]).any() for c in (2, 3))
    if has_visibility:
        if not has_z:
            keypoints[..., 2] = np.where(np.isfinite(keypoints[..., 0]), 0.0, np.nan)
        return keypoints
    return keypoints[..., :3] if has_z else keypoints[..., :2]
