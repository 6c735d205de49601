"""Start/end events, the thing a fall alarm or a gesture UI consumes, as JSON lines.

One event is one line: `{"type": "start"|"end", "label": ..., "time": seconds, "frame": index,
"confidence": peak}`, plus `"track": id` when several people are followed (`actrec stream --people`). A live consumer tails the file, so lines are written whole and flushed one
by one instead of renaming a finished file into place (which would hide events until the end).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal


@dataclass(frozen=True)
class Event:
    """An activity starting or ending; `confidence` is the peak smoothed probability so far;
    `track` the person's track id when several people are followed (else None, and left out of
    the JSON line)."""

    type: Literal["start", "end"]
    label: str
    time: float
    frame: int
    confidence: float
    track: int | None = None

    def to_json(self) -> str:
        record = asdict(self)
        record["time"] = round(float(self.time), 6)
        record["confidence"] = round(float(self.confidence), 6)
        if self.track is None:
            del record["track"]
        return json.dumps(record)


class EventWriter:
    """Append events to a JSONL file, one complete line per write, flushed at once.

    The file is truncated when opened. Each line goes out in a single `os.write` on an O_APPEND
    descriptor, so a reader tailing the file never sees half a line.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        self.count = 0

    def write(self, events: list[Event]) -> None:
        for event in events:
            os.write(self._fd, (event.to_json() + "\n").encode())
            self.count += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, kind: type | None, value: BaseException | None, trace: TracebackType | None) -> None:
        self.close()


def read_events(path: str | os.PathLike) -> list[Event]:
    """Events from a JSONL file written by `EventWriter`."""
    lines = Path(path).read_text().splitlines()
    return [Event(**json.loads(line)) for line in lines if line.strip()]


def event_segments(events: list[Event]) -> list[tuple[str, float, float]]:
    """Pair start/end events into `(label, start_s, end_s)` segments, in start order (a start is
    paired with the next end of the same label and track)."""
    open_starts: dict[tuple[int | None, str], Event] = {}
    segments = []
    for event in events:
        key = (event.track, event.label)
        if event.type == "start":
            open_starts[key] = event
        elif key in open_starts:
            start = open_starts.pop(key)
            segments.append((event.label, start.time, event.time))
    return sorted(segments, key=lambda segment: segment[1])
