"""Many videos -> one recording `.npz` each: resumable, in parallel, with a frames/s progress bar.

An output is written atomically, so an existing output means a finished video and is skipped when
the command is run again. A video that cannot be read is reported and the others go on.
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import queue
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from actrec.errors import ActrecError, ConfigError, DataError
from actrec.extract.blazepose import check_runtime
from actrec.extract.core import Crop, extract_video
from actrec.extract.detectors import detector_spec, import_solutions
from actrec.extract.people import PeopleConfig, extract_people_video
from actrec.io.recording import save_recording
from actrec.io.video import find_videos, video_info
from actrec.jobs.outputs import BatchReport, Status, check_distinct_outputs


@dataclass(frozen=True)
class VideoOutcome:
    """What happened to one video: `frames` decoded, `detected` of them with a skeleton."""

    video: Path
    output: Path
    status: Status
    frames: int = 0
    detected: int = 0
    message: str = ""

    @property
    def source(self) -> Path:
        return self.video

    @property
    def done(self) -> str:
        return f"{self.detected}/{self.frames} frames with a detection"

    @property
    def units(self) -> int:
        return self.frames


def plan_outputs(source: str | Path, out_dir: str | Path) -> list[tuple[Path, Path]]:
    """(video, output .npz) pairs: a folder's layout is mirrored under `out_dir` (class folders stay).

    Two videos that would write the same output (`a.mp4` and `a.avi`) raise a DataError.
    """
    source, out_dir = Path(source), Path(out_dir)
    videos = find_videos(source)
    base = source if source.is_dir() else source.parent
    pairs = [(video, out_dir / video.relative_to(base).with_suffix(".npz")) for video in videos]
    check_distinct_outputs(pairs)
    return pairs


def extract_videos(
    source: str | Path,
    out_dir: str | Path,
    detector: str = "pose",
    workers: int = 1,
    crop: Crop | None = None,
    max_frames: int | None = None,
    console: Console | None = None,
    people: bool = False,
    ray_address: str | None = None,
    people_finder: str = "detector",
) -> list[VideoOutcome]:
    """Extract keypoints from a video or every video under a folder into `out_dir`.

    Videos whose output exists are skipped; with `workers > 1` that many videos run at once in
    separate processes. Unreadable videos come back as `failed` outcomes with a one-line message.
    With a `console`, a progress bar (frames/s) and one line per finished video are printed.
    `people`: find, pose and track every person (`extract.people`; pose detector, no crop), found
    by `people_finder` ("detector", "motion" for a fixed camera, or "both").
    `ray_address`: run the videos as tasks on that Ray cluster instead (`actrec.cluster`); the
    files written are the same as a local run's.
    """
    detector_spec(detector)
    if people and (detector != "pose" or crop is not None):
        raise ConfigError("--people runs the pose detector on every person it finds; leave out --detector and --crop")
    if workers < 1:
        raise ConfigError(f"--workers {workers}: use 1 or more processes")
    finder = PeopleConfig(finder=people_finder).finder if people else None
    if people:
        check_runtime()
    import_solutions()
    outcomes: list[VideoOutcome] = []
    todo: list[tuple[Path, Path, int]] = []
    plan = plan_outputs(source, out_dir)
    for video, output in plan:
        if output.exists():
            outcomes.append(VideoOutcome(video, output, "skipped"))
            continue
        try:
            expected = video_info(video).frame_count
        except DataError as error:
            outcomes.append(VideoOutcome(video, output, "failed", message=str(error)))
            continue
        todo.append((video, output, min(expected, max_frames) if max_frames else expected))
    with BatchReport(console, len(plan), "videos", unit="frames") as report:
        for outcome in outcomes:
            report.finished(outcome)
        report.expect({video: expected for video, _, expected in todo})
        jobs = [(video, output, detector, crop, max_frames, finder) for video, output, _ in todo]
        if ray_address is not None and jobs:
            outcomes += _run_on_ray(jobs, ray_address, report)
        elif workers == 1 or len(jobs) <= 1:
            for job in jobs:
                outcomes.append(report.finished(_extract_one(*job, on_frames=report.advance)))
        else:
            outcomes += _run_parallel(jobs, min(workers, len(jobs)), report)
    return outcomes


def _extract_one(
    video: Path,
    output: Path,
    detector: str,
    crop: Crop | None,
    max_frames: int | None,
    people: str | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> VideoOutcome:
    """Extract and save one video; actrec errors become a `failed` outcome, not an exception.
    `people`: the people finder, or None for one person."""
    try:
        if people:
            recording = extract_people_video(
                video, max_frames=max_frames, on_frames=on_frames, config=PeopleConfig(finder=people)
            )
        else:
            recording = extract_video(video, detector, crop=crop, max_frames=max_frames, on_frames=on_frames)
        save_recording(output, recording)
    except ActrecError as error:
        return VideoOutcome(video, output, "failed", message=str(error))
    detected = recording.present.any(axis=1) if recording.has_people_axis else recording.present
    return VideoOutcome(video, output, "done", recording.n_frames, int(detected.sum()))


def _queued_extract_one(job: tuple[Any, ...], frames_done: Any) -> VideoOutcome:
    """Worker-process entry: progress goes back through a managed queue."""
    extract: Callable[..., VideoOutcome] = _extract_one  # job: the positional arguments before on_frames
    return extract(*job, on_frames=frames_done.put)


def _run_parallel(jobs: list[tuple[Any, ...]], workers: int, report: BatchReport) -> list[VideoOutcome]:
    """Run jobs in `workers` spawned processes, draining their frame counts into the progress bar."""
    context = multiprocessing.get_context("spawn")
    outcomes = []
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        frames_done = manager.Queue()
        pending: dict[Future[VideoOutcome], tuple[Any, ...]] = {
            pool.submit(_queued_extract_one, job, frames_done): job for job in jobs
        }
        while pending:
            with contextlib.suppress(queue.Empty):
                report.advance(frames_done.get(timeout=0.2))
            for future in [f for f in pending if f.done()]:
                video, output = pending.pop(future)[:2]
                try:
                    outcome = future.result()
                except Exception as error:  # noqa: BLE001  a worker that died (e.g. in native code) fails only its video
                    outcome = VideoOutcome(
                        video,
                        output,
                        "failed",
                        message=f"{video}: extraction crashed ({type(error).__name__}: {error})",
                    )
                outcomes.append(report.finished(outcome))
        while not frames_done.empty():
            report.advance(frames_done.get())
    return outcomes


def _extract_bytes(
    content: bytes, name: str, detector: str, crop: Crop | None, max_frames: int | None, people: str | None
) -> Any:
    """Ray task: extract a video given as bytes. Returns the Recording, or the one-line error
    text of an unreadable video."""
    from actrec.cluster import on_local_copy

    if people:
        return on_local_copy(
            content,
            name,
            lambda path: extract_people_video(path, max_frames=max_frames, config=PeopleConfig(finder=people)),
        )
    return on_local_copy(content, name, lambda path: extract_video(path, detector, crop=crop, max_frames=max_frames))


def _run_on_ray(jobs: list[tuple[Any, ...]], address: str, report: BatchReport) -> list[VideoOutcome]:
    """Each video a Ray task; the driver saves what comes back, so outputs match a local run."""
    from actrec.cluster import failure_line, run_on_ray

    # read as tasks are sent
    tasks = (
        (video.read_bytes(), str(video), detector, crop, max_frames, people)
        for video, _, detector, crop, max_frames, people in jobs
    )
    outcomes = []
    for index, result, error in run_on_ray(address, _extract_bytes, tasks):
        video, output = jobs[index][:2]
        if error is not None:
            outcome = VideoOutcome(
                video, output, "failed", message=f"{video}: extraction failed on Ray ({failure_line(error)})"
            )
        elif isinstance(result, str):
            outcome = VideoOutcome(video, output, "failed", message=result)
        else:
            # arrays from Ray's object store are read-only views: give the writer its own copies
            recording = replace(copy.deepcopy(result), source=str(video))
            save_recording(output, recording)
            detected = recording.present.any(axis=1) if recording.has_people_axis else recording.present
            outcome = VideoOutcome(video, output, "done", recording.n_frames, int(detected.sum()))
            report.advance(recording.n_frames)
        outcomes.append(report.finished(outcome))
    return outcomes
