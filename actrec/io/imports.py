"""Import a folder of keypoint files people already have into one recording `.npz` per video.

`actrec import` drives this: OpenPose writes one JSON per frame, so a folder of them is one
video; COCO-17 and MediaPipe files hold a whole video each. A file that cannot be read is reported
in one line and the import goes on with the next. The skeleton schema the files are read in is
named by `import_schema` and resolved by the caller (`actrec.skeletons.get_schema`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actrec.errors import ActrecError, ConfigError, DataError
from actrec.io.keypoints import JointTable, read_coco_json, read_json, read_mediapipe, read_openpose_json
from actrec.io.recording import Recording, save_recording

KINDS = ("openpose", "coco", "mediapipe")
DEFAULT_SCHEMAS = {"openpose": "openpose_137", "coco": "coco17", "mediapipe": "mediapipe_pose"}


@dataclass
class ImportOutcome:
    """One video: where it came from, the recording written (None if it failed) and why not."""

    source: Path
    out: Path
    frames: int = 0
    detected: int = 0
    error: str | None = None


def plan_imports(kind: str, source: str | Path, out: str | Path) -> list[tuple[Path, Path]]:
    """(source, output .npz) per video, sorted; the folder layout under `source` is kept in `out`.

    openpose: every folder at or under `source` that directly holds `.json` files is one video.
    coco: `source` is one `.json` or a folder searched for them. mediapipe: the same with `.csv` too.
    """
    _check_kind(kind)
    source, out = Path(source), Path(out)
    if not source.exists():
        raise DataError(f"{source}: not found; give a file or a folder of {kind} keypoint files")
    if kind == "openpose":
        if not source.is_dir():
            raise DataError(
                f"{source}: OpenPose writes one JSON per frame; give the --write_json folder (or a folder of them)"
            )
        units = sorted({path.parent for path in source.rglob("*.json")})
        targets = [
            out / (f"{source.name}.npz" if unit == source else unit.relative_to(source).with_suffix(".npz"))
            for unit in units
        ]
    else:
        suffixes = {".json"} if kind == "coco" else {".json", ".csv"}
        if source.is_file():
            units = [source]
            targets = [out / f"{source.stem}.npz"]
        else:
            units = sorted(path for path in source.rglob("*") if path.is_file() and path.suffix.lower() in suffixes)
            targets = [out / unit.relative_to(source).with_suffix(".npz") for unit in units]
    if not units:
        raise DataError(
            f"{source}: holds no {kind} keypoint files ({'*.json' if kind != 'mediapipe' else '*.json, *.csv'})"
        )
    clashes = sorted({str(t) for t in targets if targets.count(t) > 1})
    if clashes:
        raise ConfigError(f"two inputs would both be written to {clashes[0]}; rename one of them")
    return list(zip(units, targets))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"unknown format '{kind}'; choose one of: {', '.join(KINDS)}")


def import_schema(kind: str, schema: str | None = None, fps: float | None = None) -> str:
    """The skeleton schema `kind`'s files are read in (`schema`, else the format's own), checked
    with `fps` before any file is read.

    schema: openpose_137 (default) or openpose_body25; a MediaPipe schema (default mediapipe_pose).
    """
    _check_kind(kind)
    if schema is not None and kind == "coco" and schema != "coco17":
        raise ConfigError(f"COCO keypoints are coco17; --schema {schema} does not apply")
    if fps is not None and fps <= 0:
        raise ConfigError(f"--fps {fps}: give the videos' frame rate (> 0)")
    return schema or DEFAULT_SCHEMAS[kind]


def import_keypoints(
    kind: str,
    source: str | Path,
    out: str | Path,
    skeleton: JointTable,
    schema: str,
    fps: float | None = None,
    on_done: Callable[[int, int, ImportOutcome], None] | None = None,
) -> list[ImportOutcome]:
    """Read each video of `source` with the `kind` importer and save it as `out/<name>.npz`.

    skeleton: the schema named by `import_schema` (resolved by the caller); schema: that name or
    .yaml path, stored in each recording. fps: the videos' frame rate (OpenPose and COCO JSON hold
    none; default 30; MediaPipe JSON may). on_done(i, n, outcome) is called after each video, for
    progress. Bad files do not stop the rest.
    """
    plan = plan_imports(kind, source, out)
    outcomes = []
    for number, (unit, target) in enumerate(plan, start=1):
        outcome = ImportOutcome(unit, target)
        try:
            recording = read_keypoint_file(kind, unit, fps, skeleton, schema)
            save_recording(target, recording)
            outcome.frames, outcome.detected = recording.n_frames, int(recording.present.sum())
        except ActrecError as error:
            outcome.error = str(error)
        outcomes.append(outcome)
        if on_done is not None:
            on_done(number, len(plan), outcome)
    return outcomes


def keypoint_format(path: str | Path) -> str | None:
    """The importer that reads `path`, from its content: `openpose` for a folder holding OpenPose
    frame JSON (at or under it), `coco` or `mediapipe` for a JSON file of theirs or a folder of
    them; None for anything else (a folder's first JSON file decides for the folder). A JSON file
    that cannot be parsed is a one-line DataError."""
    path = Path(path)
    if path.is_dir():
        first = next(iter(sorted(path.rglob("*.json"))), None)
        return None if first is None else keypoint_format(first)
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    return _json_kind(read_json(path))


def _json_kind(data: Any) -> str | None:
    """openpose: `{"people": [...]}` (one frame); coco: `{"annotations"}` or a list of detections
    (`keypoints` or MMPose's `instances`); mediapipe: `{"frames"}` or a list of frames (landmark
    lists, or objects with `landmarks`/`landmark`)."""
    if isinstance(data, dict):
        kinds = {"people": "openpose", "annotations": "coco", "frames": "mediapipe"}
        return next((kind for key, kind in kinds.items() if key in data), None)
    if not isinstance(data, list):
        return None
    first = next((entry for entry in data if entry), None)
    if isinstance(first, dict) and ("keypoints" in first or "instances" in first):
        return "coco"
    if isinstance(first, list) or (isinstance(first, dict) and ("landmarks" in first or "landmark" in first)):
        return "mediapipe"
    return None


def read_keypoint_file(kind: str, unit: Path, fps: float | None, skeleton: JointTable, schema: str) -> Recording:
    """One video's keypoints (a unit of `plan_imports`) read by the `kind` importer; a file the
    importer cannot parse is a one-line DataError."""
    try:
        if kind == "openpose":
            return read_openpose_json(unit, skeleton, fps=fps or 30.0, schema=schema)
        if kind == "coco":
            return read_coco_json(unit, fps=fps or 30.0)
        return read_mediapipe(unit, skeleton, fps=fps, schema=schema)
    except ActrecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise DataError(
            f"{unit}: not a readable {kind} keypoint file ({type(error).__name__}: {' '.join(str(error).split())})"
        ) from None
