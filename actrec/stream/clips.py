"""Clip models on a live or recorded video: a rolling buffer of recent frames, a prediction every
`hop` frames, and the decision rules streaming already has (smoothing, voting, hysteresis,
start/end events).

The buffer holds the frames one prediction looks at in training (`window_frames`: the clip span
for dense sampling, the median training video length for TSN-style segments); each prediction
samples the clip from it exactly as at test time (centre sampling, centre crop). A flow model's
buffer holds flow pictures, each computed once as its frame arrives (from the frame before it,
on the whole resized frame, as the frame cache computes them; `data/clip_flow.py`). Every frame
after the first prediction updates the decision maker with the newest probabilities. With `out`,
every input frame is also written to an annotated video (label, confidence bar, timeline; the
sink `actrec stream --out` uses for sequence models), one output frame per input frame.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actrec.data.clip_flow import FlowSteps
from actrec.data.clip_sampling import centre_crop, frame_indices, to_tensor
from actrec.errors import ConfigError, DataError
from actrec.io.clips import resize_short_side
from actrec.stream.decisions import DecisionMaker, DecisionRules
from actrec.stream.events import Event, EventWriter


@dataclass
class ClipStreamReport:
    """What a clip stream did: frames read, clip predictions made, events, the decision rules in
    force (`rules.summary()` for the CLI) and notes on the events that did not come
    (`DecisionMaker.notes`)."""

    frames: int = 0
    predictions: int = 0
    events: list[Event] = field(default_factory=list)
    seconds: float = 0.0
    rules: DecisionRules | None = None
    notes: list[str] = field(default_factory=list)


def read_frames(source: str) -> tuple[Iterator[np.ndarray], float]:
    """(BGR frames, fps) of a video file or `webcam:N`."""
    from actrec.io.clips import quiet_cv2

    cv2 = quiet_cv2()
    if source.startswith("webcam:"):
        capture = cv2.VideoCapture(int(source.split(":", 1)[1]))
        if not capture.isOpened():
            raise DataError(f"{source}: camera cannot be opened; check the index and that no other program uses it")
    else:
        if not Path(source).is_file():
            raise DataError(f"{source}: video file not found; check the --source path")
        capture = cv2.VideoCapture(source)
        if not capture.isOpened():
            raise DataError(f"{source}: cannot be opened as a video (corrupt or unsupported codec)")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)

    def frames() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = capture.read()
                if not ok or frame is None:
                    return
                yield frame
        finally:
            capture.release()

    return frames(), fps if np.isfinite(fps) and fps > 0 else 25.0


def stream_clips(
    recognizer: Any,
    source: str,
    events: str | None = None,
    hop: int | None = None,
    rules: DecisionRules | None = None,
    on_events: Callable[[list[Event]], None] | None = None,
    out: str | Path | None = None,
    rule_settings: dict[str, Any] | None = None,
) -> ClipStreamReport:
    """Run a VideoRecognizer over `source`, writing start/end events to `events` (JSONL) and
    passing them to `on_events` as they happen; `out`: an annotated copy of the video (written
    to a temporary name and renamed when the source ends; removed if streaming fails).
    `rule_settings` (a rules YAML, `actrec stream` flags) go over the defaults scaled to the
    clip window, as for sequence models (`DecisionRules.from_settings`)."""
    from actrec.io.clips import quiet_cv2
    from actrec.stream.sinks import AnnotatedVideo

    cv2 = quiet_cv2()
    clip = recognizer.clip_config
    window = max(clip.frames, int(recognizer.window_frames))
    hop = hop or max(1, window // 4)
    if hop < 1:
        raise ConfigError("hop must be at least 1 frame")
    frames, fps = read_frames(source)
    rules = rules or DecisionRules.from_settings(window, fps, rule_settings or {})
    maker = DecisionMaker(rules, recognizer.label_names, fps)
    buffer: deque[np.ndarray] = deque(maxlen=window)
    flow = FlowSteps() if "flow" in clip.sources else None
    report = ClipStreamReport(rules=rules)
    writer = EventWriter(events) if events else None
    video = AnnotatedVideo(out, fps, list(recognizer.label_names), bones=[]) if out is not None else None
    start = time.perf_counter()
    latest: np.ndarray | None = None
    try:
        for index, frame in enumerate(frames):
            rgb = resize_short_side(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), clip.stored_side)
            pictures = {"rgb": rgb} if flow is None else {"rgb": rgb, "flow": flow.push(rgb)}
            frame_pictures = np.concatenate([pictures[source] for source in clip.sources], axis=-1)
            buffer.append(centre_crop(frame_pictures[None], clip.size)[0])
            report.frames += 1
            if len(buffer) == window and (latest is None or index % hop == 0):
                stacked = np.stack(buffer)
                picks = frame_indices(len(stacked), clip.frames, clip.sampling, clip.stride, None)
                latest = recognizer.proba_from_clips(to_tensor(stacked[picks])[None])[0]
                report.predictions += 1
            decision = None if latest is None else maker.update(index, index / fps, latest)
            if video is not None:
                video.write(frame, decision, None)
            if decision is not None:
                _emit(decision.events, report, writer, on_events)
        _emit(maker.finish(report.frames - 1, (report.frames - 1) / fps), report, writer, on_events)
    except BaseException:
        if video is not None:
            video.abort()
        raise
    finally:
        if writer:
            writer.close()
    if video is not None:
        video.close()
    report.seconds = time.perf_counter() - start
    report.notes = maker.notes()
    return report


def _emit(
    new: list[Event],
    report: ClipStreamReport,
    writer: EventWriter | None,
    on_events: Callable[[list[Event]], None] | None,
) -> None:
    if not new:
        return
    report.events += new
    if writer:
        writer.write(new)
    if on_events:
        on_events(new)
