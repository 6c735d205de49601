"""Time spent in each stage of a stream (decode, detect, pose, track, recognize), for its summary:
wall-clock seconds, which the machine's load stretches, and CPU seconds of the thread that ran the
stage, which it hardly changes. Summed over frames; nothing is decided from them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class StageTime:
    """Seconds a stage took over a stream: `wall` clock, and `cpu` time of the thread that ran it."""

    wall: float = 0.0
    cpu: float = 0.0

    def per_frame_ms(self, frames: int) -> str:
        """`12.3 / 11.9`: milliseconds a frame, wall / CPU."""
        count = max(frames, 1)
        return f"{1000 * self.wall / count:.1f} / {1000 * self.cpu / count:.1f}"


@contextmanager
def timed(stage: StageTime) -> Iterator[None]:
    """Adds the wall and this thread's CPU seconds of the `with` block to `stage` (also when it raises)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        stage.wall += time.perf_counter() - wall
        stage.cpu += time.thread_time() - cpu
