"""Where decisions go: the events JSONL (`events.EventWriter`) and an annotated video.

The annotated video draws, on every input frame, the skeleton, the stable label, a confidence
bar and a timeline of the labels so far (with several people: each one's skeleton in the colour
of their label, with their track id and label above their head); it is written through a temporary file renamed into
place when the stream ends, and has exactly one output frame per input frame.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from actrec.io.atomic import atomic_path

PALETTE = [
    (66, 135, 245),
    (67, 160, 71),
    (229, 57, 53),
    (251, 140, 0),
    (142, 36, 170),
    (0, 172, 193),
    (216, 27, 96),
    (124, 179, 66),
    (94, 53, 177),
    (255, 179, 0),
]  # BGR
GREY = (140, 140, 140)
TIMELINE_HEIGHT = 14


class AnnotatedVideo:
    """Draw decisions on frames and write them to `path` (mp4v), one output frame per input."""

    def __init__(
        self, path: str | os.PathLike, fps: float, label_names: list[str], bones: list[tuple[int, int]]
    ) -> None:
        from actrec.io.video import import_cv2

        self.cv2 = import_cv2()
        self.path = Path(path)
        self.fps = fps
        self.colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(label_names)}
        self.bones = bones
        self.timeline: list[tuple[int, int, int]] = []
        self._writer: Any = None

    def write(self, image: np.ndarray, decision: Any, keypoints: np.ndarray | dict[int, np.ndarray] | None) -> None:
        """Annotate a copy of BGR `image` with `decision` (None before the first one) and write it.

        With people, `decision` is a `stream.people.PeopleDecision` and `keypoints` `{track: [J, C]}`."""
        cv2 = self.cv2
        if self._writer is None:
            height, width = image.shape[:2]
            self._stack = contextlib.ExitStack()
            self._tmp = self._stack.enter_context(atomic_path(self.path))
            # OpenCV picks the container from the suffix, so it writes beside the temporary name.
            self._video_tmp = self._tmp + (self.path.suffix or ".mp4")
            self._writer = cv2.VideoWriter(self._video_tmp, cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
        canvas = image.copy()
        label = "..." if decision is None else decision.label
        if isinstance(keypoints, dict):
            label, color = self._people(canvas, decision, keypoints)
        else:
            color = self.colors.get(label, GREY)
            if keypoints is not None:
                self._skeleton(canvas, keypoints, color)
        self.timeline.append(color)
        height, width = canvas.shape[:2]
        panel = min(width - 10, 320)
        canvas[5:58, 5 : 5 + panel] //= 3  # darken behind the text so it reads on any scene
        cv2.putText(canvas, label, (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, color, 2, cv2.LINE_AA)
        confidence = 0.0 if decision is None else float(decision.confidence)
        bar = int((panel - 14) * min(max(confidence, 0.0), 1.0))
        cv2.rectangle(canvas, (12, 40), (panel - 2, 52), GREY, 1)
        cv2.rectangle(canvas, (12, 40), (12 + bar, 52), color, -1)
        self._timeline(canvas)
        self._writer.write(canvas)

    def _people(
        self, canvas: np.ndarray, decision: Any, people: dict[int, np.ndarray]
    ) -> tuple[str, tuple[int, int, int]]:
        """Each person's skeleton, id and label; returns the panel's text (people count) and the
        timeline colour (the first class label among the people, grey if none)."""
        decisions = {} if decision is None else decision.people
        timeline_color = GREY
        for track, keypoints in sorted(people.items()):
            label = decisions[track].label if track in decisions else "..."
            color = self.colors.get(label, GREY)
            if timeline_color == GREY and label in self.colors:
                timeline_color = color
            self._skeleton(canvas, keypoints, color)
            seen = keypoints[np.isfinite(keypoints[:, :2]).all(axis=1), :2]
            if len(seen):
                x, y = int(seen[:, 0].min()), int(seen[:, 1].min()) - 6
                self.cv2.putText(
                    canvas,
                    f"{track} {label}",
                    (x, max(y, 12)),
                    self.cv2.FONT_HERSHEY_SIMPLEX,
                    0.45,
                    color,
                    1,
                    self.cv2.LINE_AA,
                )
        count = len(people)
        return f"{count} {'person' if count == 1 else 'people'}", timeline_color

    def _skeleton(self, canvas: np.ndarray, keypoints: np.ndarray, color: tuple[int, int, int]) -> None:
        points = keypoints[:, :2]
        seen = np.isfinite(points).all(axis=1)
        for parent, child in self.bones:
            if seen[parent] and seen[child]:
                a, b = points[parent].astype(int), points[child].astype(int)
                self.cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), color, 2, self.cv2.LINE_AA)
        for x, y in points[seen].astype(int):
            self.cv2.circle(canvas, (int(x), int(y)), 3, (255, 255, 255), -1)

    def _timeline(self, canvas: np.ndarray) -> None:
        """The labels of all frames so far, squeezed into the bottom strip."""
        height, width = canvas.shape[:2]
        if len(self.timeline) > 4 * width:  # hours of camera input: keep memory bounded
            self.timeline = self.timeline[::2]
        colors = np.asarray(self.timeline, dtype=np.uint8)
        columns = colors[np.linspace(0, len(colors) - 1, width).astype(int)] if len(colors) > width else colors
        canvas[height - TIMELINE_HEIGHT :, : len(columns)] = columns[None, :, :]

    def close(self) -> None:
        """Finish the file and move it into place (nothing is written if no frame came)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        os.replace(self._video_tmp, self._tmp)
        self._stack.close()

    def abort(self) -> None:
        """Drop the partial video; the target path is left as it was."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._video_tmp)
        self._stack.__exit__(RuntimeError, RuntimeError("stream aborted"), None)
