"""Keypoint datasets from annotations: labelled segments -> sliding windows, or one clip per file.

Windows never mix recordings, and `groups` holds the recording name, so group-aware splits keep
every video wholly in train or in test. A recording of several tracked people is cut per person:
its windows' group is `name#track<id>`, and a segments row with a `track` column value labels only
that person (rows without one label everyone in the video).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from actrec.data.dataset import SequenceDataset
from actrec.errors import ConfigError, DataError
from actrec.io.arrays import pad_sequences
from actrec.io.recording import Recording, load_recording

SEGMENT_COLUMNS = ("video", "start", "end", "label")
UNLABELLED = ""  # the label of spans from a segments file without labels; a file's empty label is refused


def load_segments(
    path: str | Path, unit: str = "seconds", session: str | None = None, labels_required: bool = True
) -> pd.DataFrame:
    """Read and check a `video,start,end,label` CSV (times in `unit`: seconds or frames).

    `session`: the segments of one session may leave out the video column; it is then `session`.
    `labels_required` False: a file without a label column marks spans only (new data to cut
    into windows and predict); their label is then `UNLABELLED`.
    Returns a DataFrame with those columns plus `row` (the CSV line number, for messages).
    """
    if unit not in ("seconds", "frames"):
        raise ConfigError(f"unit '{unit}' is unknown; use seconds or frames")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: segments file not found")
    try:
        table = pd.read_csv(path, dtype={"video": str, "label": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(
            f"{path}: not a readable CSV ({type(error).__name__}); expected columns video,start,end,label"
        ) from None
    if session is not None and "video" not in table.columns:
        table["video"] = session
    unlabelled = not labels_required and "label" not in table.columns
    if unlabelled:
        table["label"] = "-"  # checked as any label, then UNLABELLED (which no file can hold)
    missing = [column for column in SEGMENT_COLUMNS if column not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; the header must be video,start,end,label")
    table = table[list(SEGMENT_COLUMNS) + (["track"] if "track" in table.columns else [])].copy()
    if "track" in table.columns:
        tracks = pd.to_numeric(table["track"], errors="coerce")
        bad = np.flatnonzero(table["track"].notna() & (tracks.isna() | (tracks % 1 != 0)))
        if len(bad):
            raise DataError(
                f"{path} row {bad[0] + 2}: track '{table['track'].iloc[bad[0]]}' is not a whole number; give the person's track id or leave it empty"
            )
        table["track"] = tracks
    table["row"] = np.arange(len(table)) + 2
    for column in ("start", "end"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad_rows = table["row"][values.isna()]
        if len(bad_rows):
            raise DataError(f"{path} row {bad_rows.iloc[0]}: {column} is not a number; give {unit}")
        table[column] = values.astype(float)
    for column in ("video", "label"):
        bad_rows = table["row"][table[column].isna() | (table[column].astype(str).str.strip() == "")]
        if len(bad_rows):
            raise DataError(f"{path} row {bad_rows.iloc[0]}: empty {column}; every segment needs a video and a label")
        table[column] = table[column].astype(str).str.strip()
    bad_rows = table["row"][table["end"] <= table["start"]]
    if len(bad_rows):
        raise DataError(f"{path} row {bad_rows.iloc[0]}: end is not after start; fix the segment times")
    if table.empty:
        raise DataError(f"{path}: no segments; add rows video,start,end,label")
    if unlabelled:
        table["label"] = UNLABELLED
    return table


def load_recordings_dir(folder: str | Path) -> dict[str, Path]:
    """Recording files under `folder` by name (file stem), e.g. `walk_01.npz` -> `walk_01`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: recordings folder not found; run actrec extract or actrec dataset generate")
    files = {path.stem: path for path in sorted(folder.rglob("*.npz"))}
    if not files:
        raise DataError(f"{folder}: holds no recording .npz files")
    return files


def windows_from_segments(
    recordings: str | Path,
    segments: str | Path,
    window: int = 30,
    stride: int = 10,
    unit: str = "seconds",
    min_fraction: float = 0.5,
    background: str | None = None,
) -> SequenceDataset:
    """Cut every annotated recording into windows of `window` frames every `stride` frames.

    A window takes the label covering most of its frames if that label covers at least
    `min_fraction` of them; other windows are dropped, or labelled `background` when given.
    A segments file without a label column marks spans of new data: the windows inside them
    (by the same rule) are unlabelled (`y` None), for `actrec predict`.
    X: `[N, window, J, C]` keypoints (NaN where undetected); a recording shorter than `window`
    gives one shorter window. groups = recording name; ids = `name@start_frame`; meta holds
    `start_frame`, `end_frame` (exclusive) and `start_time`, `end_time` in seconds.
    """
    if window < 1 or stride < 1:
        raise ConfigError(f"window ({window}) and stride ({stride}) must be at least 1 frame")
    if not 0 < min_fraction <= 1:
        raise ConfigError(f"min_fraction is {min_fraction}; use a fraction in (0, 1]")
    table = load_segments(segments, unit, labels_required=False)
    unlabelled = bool((table["label"] == UNLABELLED).all())
    if unlabelled and background is not None:
        raise ConfigError(f"{segments} has no label column: its spans are unlabelled, so --background has no use")
    files = load_recordings_dir(recordings)
    label_names = sorted(set(table["label"]) | ({background} if background else set()))
    samples: list[np.ndarray] = []
    labels: list[int] = []
    meta: dict[str, list] = {"start_frame": [], "end_frame": [], "start_time": [], "end_time": []}
    groups: list[str] = []
    ids: list[str] = []
    first: Recording | None = None
    table["name"] = [video if video in files else Path(video).stem for video in table["video"]]
    for key, rows in table.groupby("name", sort=True):
        name = str(key)
        if name not in files:
            raise DataError(
                f"{segments} row {rows['row'].iloc[0]}: video '{rows['video'].iloc[0]}' has no recording {name}.npz "
                f"in {recordings}; extract it or fix the name"
            )
        for track, recording in load_recording(files[name]).people():
            first = _check_same_layout(first, recording)
            group = name if track is None else f"{name}#track{track}"
            person_rows = (
                rows if track is None or "track" not in rows else rows[rows["track"].isna() | (rows["track"] == track)]
            )
            frame_labels = _frame_labels(recording, person_rows, label_names, unit)
            if track is not None:  # a person's windows lie where they are seen, never in frames before or after
                frame_labels[~recording.present] = -1
            for start, length, label in _label_windows(
                frame_labels, window, stride, min_fraction, label_names, background
            ):
                if track is not None and not recording.present[start : start + length].any():
                    continue
                labels.append(label)
                _add_window(recording, start, length, group, samples, meta, groups, ids)
    if not samples:
        raise DataError(
            f"{segments}: no window has a label covering {min_fraction:.0%} of its {window} frames; "
            "use a shorter --window or give --background"
        )
    assert first is not None  # a sample was read, so a recording was
    X, lengths = pad_sequences(samples, source=str(segments), ids=ids)
    return SequenceDataset(
        X=X,
        lengths=lengths,
        y=None if unlabelled else np.asarray(labels),
        label_names=[] if unlabelled else label_names,
        groups=np.asarray(groups),
        ids=np.asarray(ids),
        sample_rate_hz=first.fps,
        schema=first.schema,
        meta={key: np.asarray(value) for key, value in meta.items()},
        source=str(segments),
    )


def unlabelled_windows(recordings: str | Path, window: int = 30, stride: int = 10) -> SequenceDataset:
    """Windows of `window` frames every `stride` frames over every recording of `recordings` (a
    folder of recording .npz files, or one file), without labels: new data to predict.

    Laid out as `windows_from_segments` lays them out (groups = recording or person, ids =
    `name@start_frame`, meta start/end frame and time), with `y` None; the last window of a
    recording ends at its last frame, so no frame is left out.
    """
    path = Path(recordings)
    files = {path.stem: path} if path.is_file() else load_recordings_dir(path)
    return windows_of_recordings(
        {name: load_recording(file) for name, file in files.items()}, window, stride, str(path)
    )


def windows_of_recordings(
    recordings: Mapping[str, Recording], window: int, stride: int, source: str
) -> SequenceDataset:
    """`unlabelled_windows` of recordings already read, by name (`source` names them in messages)."""
    if window < 1 or stride < 1:
        raise ConfigError(f"window ({window}) and stride ({stride}) must be at least 1 frame")
    samples: list[np.ndarray] = []
    meta: dict[str, list] = {"start_frame": [], "end_frame": [], "start_time": [], "end_time": []}
    groups: list[str] = []
    ids: list[str] = []
    first: Recording | None = None
    for name, read in recordings.items():
        for track, recording in read.people():
            first = _check_same_layout(first, recording)
            group = name if track is None else f"{name}#track{track}"
            length = min(window, recording.n_frames)
            starts = list(range(0, recording.n_frames - length + 1, stride))
            if starts[-1] != recording.n_frames - length:
                starts.append(recording.n_frames - length)
            for start in starts:
                if track is not None and not recording.present[start : start + length].any():
                    continue
                _add_window(recording, start, length, group, samples, meta, groups, ids)
    assert first is not None  # a sample was read, so a recording was
    X, lengths = pad_sequences(samples, source=source, ids=ids)
    return SequenceDataset(
        X=X,
        lengths=lengths,
        groups=np.asarray(groups),
        ids=np.asarray(ids),
        sample_rate_hz=first.fps,
        schema=first.schema,
        meta={key: np.asarray(value) for key, value in meta.items()},
        source=source,
    )


def clips_from_folders(root: str | Path) -> SequenceDataset:
    """One sample per recording file, labelled by its folder: `root/<label>/<clip>.npz`.

    groups = clip name (file stem); ids = `label/clip`.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: clips folder not found; expected one sub-folder of .npz recordings per class")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.npz")))
    if not classes:
        raise DataError(f"{root}: no class folders holding .npz recordings; expected {root}/<label>/<clip>.npz")
    samples: list[np.ndarray] = []
    labels: list[int] = []
    ids: list[str] = []
    groups: list[str] = []
    first: Recording | None = None
    for label, name in enumerate(classes):
        for path in sorted((root / name).glob("*.npz")):
            recording = load_recording(path)
            first = _check_same_layout(first, recording)
            samples.append(recording.keypoints)
            labels.append(label)
            ids.append(f"{name}/{path.stem}")
            groups.append(path.stem)
    assert first is not None  # a sample was read, so a recording was
    X, lengths = pad_sequences(samples, source=str(root), ids=ids)
    return SequenceDataset(
        X=X,
        lengths=lengths,
        y=np.asarray(labels),
        label_names=classes,
        groups=np.asarray(groups),
        ids=np.asarray(ids),
        sample_rate_hz=first.fps,
        schema=first.schema,
        source=str(root),
    )


def _check_same_layout(first: Recording | None, recording: Recording) -> Recording:
    """All recordings of one dataset need one schema, joint/channel layout and frame rate."""
    if first is None:
        return recording
    if recording.schema != first.schema or recording.keypoints.shape[1:] != first.keypoints.shape[1:]:
        raise DataError(
            f"{recording.source}: schema {recording.schema} {recording.keypoints.shape[1:]} differs from "
            f"{first.source} ({first.schema} {first.keypoints.shape[1:]}); build one dataset per skeleton"
        )
    if abs(recording.fps - first.fps) > 1e-3:
        raise DataError(
            f"{recording.source}: {recording.fps:g} fps differs from {first.source} ({first.fps:g} fps); "
            "windows would span different durations, so build one dataset per frame rate"
        )
    return first


def _frame_labels(recording: Recording, rows: pd.DataFrame, label_names: list[str], unit: str) -> np.ndarray:
    """int `[T]`: label index of each recording row (-1 where no segment covers it); later
    segments override earlier ones where they overlap."""
    position = recording.times if unit == "seconds" else recording.frame_index
    frame_labels = np.full(recording.n_frames, -1, dtype=np.int64)
    for start, end, label in rows[["start", "end", "label"]].itertuples(index=False):
        frame_labels[(position >= start) & (position < end)] = label_names.index(label)
    return frame_labels


def _label_windows(
    frame_labels: np.ndarray,
    window: int,
    stride: int,
    min_fraction: float,
    label_names: list[str],
    background: str | None,
) -> list[tuple[int, int, int]]:
    """(start row, length, label) of each kept window, from per-label cumulative frame counts."""
    n_frames = len(frame_labels)
    length = min(window, n_frames)
    starts = np.arange(0, n_frames - length + 1, stride)
    one_hot = np.zeros((n_frames + 1, len(label_names)), dtype=np.int64)
    labelled = frame_labels >= 0
    one_hot[1:][labelled, frame_labels[labelled]] = 1
    cumulative = np.cumsum(one_hot, axis=0)
    counts = cumulative[starts + length] - cumulative[starts]  # [windows, labels]
    best = counts.argmax(axis=1)
    covered = counts[np.arange(len(starts)), best] >= min_fraction * length
    kept = []
    for start, label, ok in zip(starts, best, covered):
        if ok:
            kept.append((int(start), length, int(label)))
        elif background is not None:
            kept.append((int(start), length, label_names.index(background)))
    return kept


def _add_window(
    recording: Recording,
    start: int,
    length: int,
    group: str,
    samples: list,
    meta: dict[str, list],
    groups: list,
    ids: list,
) -> None:
    """Append the window of `length` frames from `start`: its keypoints, its frame span and times
    in `meta`, its group and its id (`group@first frame`), the same for labelled and unlabelled windows."""
    samples.append(recording.keypoints[start : start + length])
    start_frame = int(recording.frame_index[start])
    end_frame = int(recording.frame_index[start + length - 1]) + 1
    meta["start_frame"].append(start_frame)
    meta["end_frame"].append(end_frame)
    meta["start_time"].append(start_frame / recording.fps)
    meta["end_time"].append(end_frame / recording.fps)
    groups.append(group)
    ids.append(f"{group}@{start_frame}")
