"""Many data files -> one predictions CSV each (`actrec predict --data A --data B --out FOLDER`),
here or as tasks on a Ray cluster (`--ray`), with the same files either way.

`--out x.csv` writes one file for one `--data`, replaced on every run. `--out FOLDER` writes
`FOLDER/<name>.csv` per data file; an existing output means a finished file (outputs are written
atomically, by this process only), so a run that stopped part-way resumes where it stopped. A file
that cannot be read or predicted is reported in one line and the others go on.

A data file may be unlabelled, or labelled with names the model never saw: only its samples are
read. Keypoint sources (recordings, OpenPose/COCO/MediaPipe JSON, videos, a session CSV:
`data.keypoint_sources`) are cut into the model's window (`ReadOptions.window`, `stride`), one row
per window with its start and end time, or with `per_frame` one row per frame with its time.

On Ray each data file is a task, and an array folder (`io/array_folder.py`: data larger than
memory) is cut into shards of `SHARD_ROWS` samples, each sent as its own `.npz`; the driver
joins a folder's shards in order into its one CSV.
"""

from __future__ import annotations

import functools
import glob
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from actrec.errors import ActrecError, ConfigError, DataError
from actrec.io.array_folder import is_array_folder
from actrec.jobs.outputs import BatchReport, Status, check_distinct_outputs


@dataclass(frozen=True)
class ReadOptions:
    """How every data file of one predict run is read (sent as is to Ray tasks).

    label_last, class_names: a `.npy`'s label column and the names of its class numbers.
    window, stride: frames per window and between window starts when a file is a keypoint
    recording (default: the model's window, half of it).
    per_frame: keypoint recordings get one row per frame instead (the window ending there, as
    streaming gives it).
    test_clips, test_crops: clip models average this many clips per video and crops per clip
    (None: as saved with the model)."""

    label_last: bool = False
    class_names: tuple[str, ...] | None = None
    window: int | None = None
    stride: int | None = None
    per_frame: bool = False
    test_clips: int | None = None
    test_crops: int | None = None

    def for_model(self, window_length: int) -> ReadOptions:
        """These options with the window and stride filled in from the model's window."""
        window = self.window or int(window_length)
        return replace(self, window=window, stride=self.stride or max(1, window // 2))


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one data file: `predictions` rows written to `output`, or why not."""

    data: Path
    output: Path
    status: Status
    predictions: int = 0
    message: str = ""

    @property
    def source(self) -> Path:
        return self.data

    @property
    def done(self) -> str:
        return f"{self.predictions} predictions"

    @property
    def units(self) -> int:
        return self.predictions


def plan_predictions(data: Sequence[str], out: str | Path) -> list[tuple[Path, Path]]:
    """(data file, output CSV) pairs. `out` ending in .csv takes exactly one data file; otherwise it
    is a folder holding `<data file stem>.csv` each. Quoted patterns (`'parts/*.npz'`) are expanded
    here, so a long list needs no shell; two files that would write one output raise a DataError."""
    files: list[Path] = []
    for spec in data:
        matches = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
        if not matches:
            raise DataError(f"--data {spec}: no file matches the pattern")
        files += [Path(match) for match in matches]
    out = Path(out)
    if out.suffix.lower() == ".csv":
        if len(files) != 1:
            raise ConfigError(
                f"--out {out} is one CSV but {len(files)} data files were given; give a folder to --out for one CSV per file"
            )
        return [(files[0], out)]
    pairs = [(file, out / f"{file.stem}.csv") for file in files]
    check_distinct_outputs(pairs, "rename one of them or predict them apart")
    return pairs


Where = dict[str, np.ndarray]


def predict_file(
    recognizer: Any,
    data: str | Path,
    options: ReadOptions = ReadOptions(),
    on_note: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, Where]:
    """(sample ids `[N]`, probabilities `[N, C]` float32, `{start_time, end_time}` `[N]` seconds
    when the samples are windows of recordings, else empty) of one data file, read by the
    recognizer as its kind reads data (`predict_data`); `on_note` gets a line per skipped input."""
    if options.per_frame:
        return _per_frame(recognizer, Path(data))
    return recognizer.predict_data(data, options, on_note)


PER_FRAME_BATCH = 512  # trailing windows predicted at once


def _per_frame(recognizer: Any, data: Path) -> tuple[np.ndarray, np.ndarray, Where]:
    """Every frame of a keypoint source (`data.keypoint_sources`: recordings, keypoint JSON, a
    video, a session CSV): ids `name@frame`, the probabilities of the window ending at each frame
    (shorter at the start, as a stream warms up: what `Streamer` gives), and each frame's `time`
    in seconds."""
    from actrec.data.keypoint_sources import is_keypoint_source, read_keypoint_source

    if not is_keypoint_source(data, recognizer):
        raise ConfigError(
            f"{data}: --per-frame goes with keypoint sources (recordings, keypoint JSON, a video, a session CSV)"
        )
    ids, probabilities, times = [], [], []
    for name, read in read_keypoint_source(data, recognizer).items():
        for track, recording in read.people():
            group = name if track is None else f"{name}#track{track}"
            ids += [f"{group}@{frame}" for frame in recording.frame_index]
            probabilities.append(_trailing_window_proba(recognizer, recording.keypoints))
            times.append(recording.times)
    return np.asarray(ids, dtype=object), np.concatenate(probabilities), {"time": np.concatenate(times)}


def _trailing_window_proba(recognizer: Any, frames: np.ndarray) -> np.ndarray:
    """float32 `[T, C]`: `predict_proba` of the window of `recognizer.window_length` frames ending
    at each frame of `frames [T, ...]`, in batches of `PER_FRAME_BATCH` windows."""
    width = int(recognizer.window_length)
    out = []
    for start in range(0, len(frames), PER_FRAME_BATCH):
        ends = np.arange(start, min(len(frames), start + PER_FRAME_BATCH))
        windows = np.zeros((len(ends), width, *frames.shape[1:]), dtype=np.float32)
        lengths = np.minimum(ends + 1, width)
        for row, (end, length) in enumerate(zip(ends, lengths)):
            windows[row, :length] = frames[end - length + 1 : end + 1]
        out.append(recognizer.predict_proba(windows, lengths=lengths))
    return np.concatenate(out)


def predict_files(
    run: str | Path,
    data: Sequence[str],
    out: str | Path,
    options: ReadOptions = ReadOptions(),
    ray_address: str | None = None,
    console: Console | None = None,
    columns: Sequence[str] | None = None,
) -> list[FileOutcome]:
    """Predict every data file into its CSV (see the module docstring for the layout; `columns`:
    only these, e.g. `io.predictions.SUBMISSION`, checked before anything is predicted).

    `ray_address`: each file a Ray task (`actrec.cluster`); workers get the model and the file as
    bytes, so they need no shared file system. With a `console`, a progress bar and one line per
    file are printed. A clip model reads each `--data` as a clip folder or CSV.
    """
    from actrec.io.model_file import MODEL_FILE
    from actrec.io.predictions import chosen_columns
    from actrec.recognizers import load_recognizer

    pairs = plan_predictions(data, out)
    recognizer = load_recognizer(run)
    if columns is not None:
        chosen_columns(columns, recognizer.label_names)
    folder_mode = Path(out).suffix.lower() != ".csv"
    outcomes: list[FileOutcome] = []
    todo = []
    for file, output in pairs:
        if folder_mode and output.exists():
            outcomes.append(FileOutcome(file, output, "skipped"))
        else:
            todo.append((file, output))
    with BatchReport(console, len(pairs), "files") as report:
        for outcome in outcomes:
            report.finished(outcome)
        if ray_address is not None and todo:
            model_file = Path(run) / MODEL_FILE if Path(run).is_dir() else Path(run)
            folders = [str(file) for file, _ in todo if file.is_dir() and not is_array_folder(file)]
            if folders:
                raise ConfigError(
                    f"--data {folders[0]} is a folder; --ray sends files to the workers: give its recordings as files ('{folders[0]}/*.npz')"
                )
            finished = _run_on_ray(model_file.read_bytes(), todo, options, ray_address, recognizer.label_names, columns)
        else:
            finished = (_predict_here(recognizer, file, output, options, columns, report.note) for file, output in todo)
        for outcome in finished:
            if outcome.status == "failed" and not folder_mode:
                raise DataError(outcome.message)  # one file asked for: its error is the command's
            outcomes.append(report.finished(outcome))
    return outcomes


def _predict_here(
    recognizer: Any,
    file: Path,
    output: Path,
    options: ReadOptions,
    columns: Sequence[str] | None,
    on_note: Callable[[str], None],
) -> FileOutcome:
    try:
        ids, proba, where = predict_file(recognizer, file, options, on_note)
    except ActrecError as error:
        return FileOutcome(file, output, "failed", message=str(error))
    return _write(file, output, ids, proba, where, recognizer.label_names, columns)


def _write(
    file: Path,
    output: Path,
    ids: np.ndarray,
    proba: np.ndarray,
    where: Where,
    label_names: list[str],
    columns: Sequence[str] | None,
) -> FileOutcome:
    from actrec.io.predictions import write_predictions

    write_predictions(output, ids, proba, label_names, where, columns)
    return FileOutcome(file, output, "done", len(proba))


@functools.lru_cache(maxsize=1)
def _recognizer_from_bytes(model: bytes) -> Any:
    """The model a worker was sent, loaded once per worker process rather than once per file (a
    worker runs many tasks of one predict run); or the one-line error text of a bad model file."""
    from actrec.cluster import on_local_copy
    from actrec.io.model_file import MODEL_FILE
    from actrec.recognizers import load_recognizer

    return on_local_copy(model, MODEL_FILE, load_recognizer)


def _predict_bytes(model: bytes, content: bytes, name: str, options: ReadOptions) -> Any:
    """Ray task: (ids, probabilities) of a data file given as bytes, with the model given as
    bytes; or the one-line error text of a file that cannot be predicted."""
    from actrec.cluster import on_local_copy

    recognizer = _recognizer_from_bytes(model)
    if isinstance(recognizer, str):
        return recognizer
    return on_local_copy(content, name, lambda path: predict_file(recognizer, path, options))


SHARD_ROWS = 16_384  # samples of an array folder per Ray task: a multiple of `predict_proba`'s batches
# (256 samples), so every batch, and so every probability, is the one a local run computes


def _run_on_ray(
    model: bytes,
    todo: list[tuple[Path, Path]],
    options: ReadOptions,
    address: str,
    label_names: list[str],
    columns: Sequence[str] | None,
) -> Iterator[FileOutcome]:
    """Each file a Ray task, each array folder `SHARD_ROWS` samples a task; the driver writes what
    comes back (a folder once all its shards are in), so outputs match a local run."""
    from actrec.cluster import failure_line, run_on_ray
    from actrec.data.loading import load_dataset

    folders: dict[Path, Any] = {}  # the array folder being sent (X memory-mapped), read once for its shards

    def folder(path: Path) -> Any:
        if path not in folders:
            folders.clear()
            folders[path] = load_dataset(path)
        return folders[path]

    shards: list[tuple[int, np.ndarray | None]] = []  # (position in todo, rows of an array folder)
    for position, (file, output) in enumerate(todo):
        if not is_array_folder(file):
            shards.append((position, None))
            continue
        try:
            n_samples = len(folder(file).lengths)
        except ActrecError as unreadable:
            yield FileOutcome(file, output, "failed", message=str(unreadable))
            continue
        shards += [
            (position, np.arange(start, min(start + SHARD_ROWS, n_samples)))
            for start in range(0, n_samples, SHARD_ROWS)
        ]
    left = Counter(position for position, _ in shards)
    parts: dict[int, list[Any]] = {position: [] for position in left}
    jobs = (
        (*_shard_bytes(todo[position][0], None if rows is None else folder(todo[position][0]), rows), options)
        for position, rows in shards
    )
    for index, result, error in run_on_ray(address, _predict_bytes, jobs, shared=(model,), in_order=True):
        position = shards[index][0]
        file, output = todo[position]
        if position not in left:
            continue  # an earlier shard of this folder failed: the file is reported already
        if error is not None:
            message = f"{file}: prediction failed on Ray ({failure_line(error)})"
        elif isinstance(result, str):
            message = result
        else:
            parts[position].append(result)
            left[position] -= 1
            if left[position] == 0:
                del left[position]
                ids, proba, where = _joined(parts.pop(position))
                yield _write(file, output, ids, proba, where, label_names, columns)
            continue
        del left[position]
        parts.pop(position)
        yield FileOutcome(file, output, "failed", message=message)


def _shard_bytes(file: Path, dataset: Any, rows: np.ndarray | None) -> tuple[bytes, str]:
    """(content, name) a task gets: a data file's bytes, or the samples at `rows` of an array
    folder's `dataset` as an uncompressed `.npz` named `FOLDER/rows-START-STOP.npz` (its messages
    name them so)."""
    if rows is None:
        return file.read_bytes(), str(file)
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "shard.npz"
        dataset.subset(rows).to_npz(str(path), compressed=False)
        return path.read_bytes(), f"{file}/rows-{rows[0]}-{rows[-1] + 1}.npz"


def _joined(parts: list[tuple[np.ndarray, np.ndarray, Where]]) -> tuple[np.ndarray, np.ndarray, Where]:
    """One file's (ids, probabilities, where) from its shards' (in order)."""
    if len(parts) == 1:
        return parts[0]
    where = {key: np.concatenate([part[2][key] for part in parts]) for key in parts[0][2]}
    return np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts]), where
