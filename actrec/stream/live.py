"""Run a source through a Streamer into sinks, with capture, recognition and drawing decoupled.

Three threads joined by bounded queues:

    capture --work queue--> recognize (extract keypoints, push, write events)
       \\--draw queue--> draw (main thread: annotate and write every frame)

Live sources (a camera, or a file replayed at its own rate) use a drop-oldest work queue, so a
slow extractor or model skips frames instead of falling behind; the drops are counted. `fast`
replays as fast as possible without dropping anything. The draw queue never drops: the
annotated video gets every input frame, each with the newest decision made at or before it.
"""

from __future__ import annotations

import threading
import time as clock
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from actrec.stream.decisions import Decision
from actrec.stream.engine import Streamer
from actrec.stream.events import Event, EventWriter
from actrec.stream.sources import SourceFrame
from actrec.stream.stages import StageTime, timed

Item = TypeVar("Item")
STAGES = ("decode", "extract", "recognize")


class Closed(Exception):
    """The queue was closed and is empty."""


class FrameQueue(Generic[Item]):
    """Bounded FIFO between two threads. Full + `drop_oldest`: the oldest item is discarded and
    counted in `dropped`; full otherwise: `put` waits."""

    def __init__(self, maxsize: int, drop_oldest: bool) -> None:
        self.maxsize = maxsize
        self.drop_oldest = drop_oldest
        self.dropped = 0
        self._items: deque[Item] = deque()
        self._closed = False
        self._changed = threading.Condition()

    def put(self, item: Item) -> None:
        with self._changed:
            while len(self._items) >= self.maxsize and not self.drop_oldest and not self._closed:
                self._changed.wait()
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._changed.notify_all()

    def get(self) -> Item:
        with self._changed:
            while not self._items:
                if self._closed:
                    raise Closed
                self._changed.wait()
            item = self._items.popleft()
            self._changed.notify_all()
            return item

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()


@dataclass
class StreamReport:
    """What happened: frames captured and recognized, frames the work queue dropped, events, and
    the time of each stage: `stages` decode (the capture thread reading a frame; from a camera
    this includes waiting for it), extract (image to keypoints) and recognize (the model and the
    decision rules), each in the thread that ran it (CPU an extractor spends in threads of its own,
    as MediaPipe's single-person graph does, is not in extract's); `extract_stages` the extractor's
    own stages when it reports them (`stream.sources.PeopleExtractor`: detect, in a thread of its
    own beside pose, pose, wait for detect, track), shown instead of extract; `cpu_seconds` the
    whole process's CPU time over the stream, every thread included."""

    frames: int = 0
    recognized: int = 0
    dropped: int = 0
    events: list[Event] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # stable label per recognized frame
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    stages: dict[str, StageTime] = field(default_factory=lambda: {name: StageTime() for name in STAGES})
    extract_stages: dict[str, StageTime] = field(default_factory=dict)

    def stage_line(self) -> str:
        """`decode 1.2 / 1.1 ms a captured frame; a recognized frame, ms wall / CPU: detect 15.2 / 14.8,
        pose 30.1 / 29.5, wait 1.0 / 0.0, track 0.7 / 0.7, recognize 1.3 / 1.3; in all 33.1 / 48.3`: in all
        is the recognizing thread's wall time a frame (what bounds the frames/s it keeps up with) and
        the whole process's CPU time a recognized frame (decoding and drawing included)."""
        inner = self.extract_stages or {"extract": self.stages["extract"]}
        shown = {**inner, "recognize": self.stages["recognize"]}
        total = StageTime(self.stages["extract"].wall + self.stages["recognize"].wall, self.cpu_seconds)
        return (
            f"decode {self.stages['decode'].per_frame_ms(self.frames)} ms a captured frame; "
            "a recognized frame, ms wall / CPU: "
            + ", ".join(f"{name} {stage.per_frame_ms(self.recognized)}" for name, stage in shown.items())
            + f"; in all {total.per_frame_ms(self.recognized)}"
        )


class _Decisions:
    """Recognized frames in order, for the drawer to match to images (a frame that was dropped
    is drawn with the newest decision before it)."""

    def __init__(self) -> None:
        self.items: deque[tuple[int, Decision, np.ndarray | None]] = deque()
        self.done_up_to = -1
        self.finished = False
        self.changed = threading.Condition()

    def add(self, index: int, decision: Decision, keypoints: np.ndarray | None) -> None:
        with self.changed:
            self.items.append((index, decision, keypoints))
            self.done_up_to = index
            self.changed.notify_all()

    def finish(self) -> None:
        with self.changed:
            self.finished = True
            self.changed.notify_all()

    def latest_for(self, index: int, current: tuple[Decision, Any] | None) -> tuple[Decision, Any] | None:
        """The newest decision at or before frame `index`, once the recognizer got past it."""
        with self.changed:
            while self.done_up_to < index and not self.finished:
                self.changed.wait()
            while self.items and self.items[0][0] <= index:
                _, decision, keypoints = self.items.popleft()
                current = (decision, keypoints)
            return current


def run_stream(
    streamer: Streamer,
    frames: Iterable[SourceFrame],
    *,
    live: bool = False,
    fast: bool = False,
    extract: Callable[[np.ndarray], Any] | None = None,
    events: EventWriter | None = None,
    video: Any = None,
    on_decision: Callable[[Decision], None] | None = None,
    queue_size: int = 8,
) -> StreamReport:
    """Stream `frames` through `streamer`; returns the report once the source ends.

    extract: image -> raw model frame (keypoints), for video sources; with a `PeopleStreamer`,
      image -> `{track_id: keypoints}`.
    live: the source is a camera (paced by itself); otherwise frames are replayed at their own
      pace (each frame's `time`) unless `fast`. Live or paced replay drops the oldest waiting
      frame under overload.
    video: an `AnnotatedVideo` (or anything with `write(image, decision, keypoints)`).
    """
    report = StreamReport()
    dropping = live or not fast
    work: FrameQueue[SourceFrame] = FrameQueue(queue_size, drop_oldest=dropping)
    draw: FrameQueue[SourceFrame] = FrameQueue(queue_size * 4, drop_oldest=False)
    decided = _Decisions()
    failures: list[BaseException] = []
    started, cpu_started = clock.perf_counter(), clock.process_time()

    def capture() -> None:
        try:
            source = iter(frames)
            while True:
                with timed(report.stages["decode"]):
                    frame = next(source, None)
                if frame is None:
                    break
                if not live and not fast:  # replay at the recording's own pace
                    delay = frame.time - (clock.perf_counter() - started)
                    if delay > 0:
                        clock.sleep(delay)
                report.frames += 1
                work.put(frame)
                if video is not None and frame.image is not None:
                    draw.put(frame)
        except BaseException as error:  # noqa: BLE001  surfaced by the main thread
            failures.append(error)
        finally:
            work.close()
            draw.close()

    def recognize() -> None:
        try:
            while True:
                try:
                    frame = work.get()
                except Closed:
                    break
                with timed(report.stages["extract"]):
                    raw = frame.values if frame.image is None or extract is None else extract(frame.image)
                with timed(report.stages["recognize"]):
                    decision = streamer.push(raw, frame.time)
                report.recognized += 1
                report.labels.append(decision.label)
                report.events.extend(decision.events)
                if events is not None:
                    events.write(decision.events)
                if on_decision is not None:
                    on_decision(decision)
                decided.add(frame.index, decision, raw if frame.image is not None else None)
            closing = streamer.finish()
            report.events.extend(closing)
            if events is not None:
                events.write(closing)
        except BaseException as error:  # noqa: BLE001  surfaced by the main thread
            failures.append(error)
            work.close()
        finally:
            decided.finish()

    threads = [threading.Thread(target=capture, daemon=True), threading.Thread(target=recognize, daemon=True)]
    for thread in threads:
        thread.start()
    current = None
    try:
        while video is not None:
            try:
                frame = draw.get()
            except Closed:
                break
            current = decided.latest_for(frame.index, current)
            decision, keypoints = current if current is not None else (None, None)
            video.write(frame.image, decision, keypoints)
    except BaseException:
        work.close()  # unblock the other threads before giving up
        draw.close()
        raise
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    report.dropped = work.dropped
    report.seconds = clock.perf_counter() - started
    report.cpu_seconds = clock.process_time() - cpu_started
    return report


def stream_source(
    recognizer: Any,
    source: str,
    *,
    out: str | None = None,
    events: str | None = None,
    fast: bool = False,
    runtime: str = "numpy",
    on_decision: Callable[[Decision], None] | None = None,
    sequence_id: str | None = None,
    resample: bool = False,
    rule_settings: dict[str, Any] | None = None,
    streamer: Any = None,
    people: bool = False,
) -> tuple[StreamReport, Streamer]:
    """What `actrec stream` does: open `source` (`FILE`, `webcam:N`, `csv:FILE`), stream it
    through `recognizer`, write events JSONL to `events` and an annotated video to `out`.

    sequence_id: one sequence of a long CSV; resample: bring a CSV at another rate to the model's;
    rule_settings: decision-rule values over the defaults scaled to the model (`DecisionRules.from_settings`);
    streamer: something with Streamer's `push`/`finish` (e.g. `actrec.serve.client.RemoteStreamer`)
      instead of a local Streamer over `recognizer`;
    people: every person in a video, tracked, with a Streamer each (`stream.people`); events
      carry the track id."""
    from actrec.errors import ConfigError
    from actrec.stream.sinks import AnnotatedVideo
    from actrec.stream.sources import PeopleExtractor, extractor_for, is_recorded_session, open_source

    is_video = not is_recorded_session(source)
    if (out is not None or people) and not is_video:
        raise ConfigError("--out and --people work on video frames; a recorded session has none")
    if people and streamer is not None:
        raise ConfigError("--people streams each person through a local model; leave out --server")
    opened = open_source(source, recognizer, sequence_id, resample)
    poser = None
    try:
        poser = PeopleExtractor(recognizer) if people else None
        extract: Callable[[np.ndarray], Any] | None = (
            poser if poser is not None else extractor_for(recognizer) if is_video else None
        )
        if people:
            from actrec.stream.people import people_streamer

            streamer = people_streamer(recognizer, runtime=runtime, rule_settings=rule_settings)
        streamer = streamer or Streamer(recognizer, runtime=runtime, rule_settings=rule_settings)
        video = None
        if out is not None:
            skeleton = recognizer.skeleton()
            bones = list(skeleton.bones) if skeleton is not None else []
            video = AnnotatedVideo(out, opened.rate_hz, list(recognizer.label_names), bones)
        writer = EventWriter(events) if events is not None else None
        try:
            report = run_stream(
                streamer,
                opened.frames(),
                live=opened.live,
                fast=fast,
                extract=extract,
                events=writer,
                video=video,
                on_decision=on_decision,
            )
        except BaseException:
            if video is not None:
                video.abort()
            raise
        finally:
            if writer is not None:
                writer.close()
        if video is not None:
            video.close()
        if poser is not None:
            report.extract_stages = poser.stage_times()
    finally:
        if poser is not None:
            poser.close()
        opened.close()
    return report, streamer
