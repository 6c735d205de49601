"""Continuous labelled sessions rebuilt from windows cut out of recordings.

A windowed dataset whose windows carry their recording (`groups`) and where they start in it
(`meta["start_frame"]`, as `windows_from_segments` writes) still holds the recordings: overlapping
windows are copies of the same frames. Put back together, they give continuous sessions with
known segments, on which streaming decision rules can be fitted and scored without a separately
labelled session. Where no window covers a frame (a stretch without a label, a dropped window)
the recording is cut into two sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.errors import DataError

ORDER_KEY = "start_frame"


@dataclass
class LabelledSession:
    """One continuous stretch of a recording.

    name: `group@first_frame`. frames: float32 `[T, F]` or `[T, J, C]`, as the windows hold them.
    segments: (label name, start frame, end frame exclusive), counted from the stretch's first frame,
      back to back; each frame takes the label of the window whose centre is nearest.
    """

    name: str
    frames: np.ndarray
    segments: list[tuple[str, int, int]]


def has_order(dataset: SequenceDataset) -> bool:
    """True when the windows say which recording they come from and where in it they start."""
    return dataset.groups is not None and dataset.y is not None and ORDER_KEY in dataset.meta


def sessions_from_windows(dataset: SequenceDataset) -> list[LabelledSession]:
    """The continuous sessions `dataset`'s windows were cut from, in group order ([] without order).

    Raises DataError when two windows of one group disagree on a frame they share: then
    `start_frame` does not place them in one recording.
    """
    if not has_order(dataset):
        return []
    starts = np.asarray(dataset.meta[ORDER_KEY]).astype(np.int64)
    sessions = []
    for group in sorted(set(dataset.groups.tolist())):
        members = np.flatnonzero(dataset.groups == group)
        members = members[np.argsort(starts[members], kind="stable")]
        sessions += _rebuild(dataset, group, members, starts[members])
    return sessions


def _rebuild(dataset: SequenceDataset, group: str, members: np.ndarray, starts: np.ndarray) -> list[LabelledSession]:
    """One group's windows (sorted by start) laid back on the recording's timeline, cut at gaps."""
    ends = starts + dataset.lengths[members]
    first, last = int(starts.min()), int(ends.max())
    frames = np.zeros((last - first, *dataset.X.shape[2:]), dtype=np.float32)
    covered = np.zeros(last - first, dtype=bool)
    for index, start, end in zip(members.tolist(), (starts - first).tolist(), (ends - first).tolist()):
        window = dataset.X[index, : end - start]
        seen = covered[start:end]
        if not np.array_equal(frames[start:end][seen], window[seen], equal_nan=True):
            raise DataError(
                f"{dataset.source}: window {dataset.ids[index]} differs from an earlier window of group '{group}' on frames "
                f"both cover by meta {ORDER_KEY}; windows of one recording must copy the same frames"
            )
        frames[start:end] = window
        covered[start:end] = True
    # each frame's label: the window whose centre is nearest (boundaries fall half-way between)
    centres = (starts + ends - 1) / 2.0 - first
    by_centre = np.argsort(centres, kind="stable")
    centres, window_labels = centres[by_centre], dataset.y[members][by_centre]
    positions = np.arange(last - first)
    right = np.searchsorted(centres, positions).clip(0, len(centres) - 1)
    left = (right - 1).clip(0)
    nearest = np.where(np.abs(centres[left] - positions) <= np.abs(centres[right] - positions), left, right)
    labels = window_labels[nearest]
    sessions = []
    for piece_start, piece_end in _runs(covered):
        piece = labels[piece_start:piece_end]
        segments = [(dataset.label_names[int(piece[a])], a, b) for a, b in _label_runs(piece)]
        sessions.append(LabelledSession(f"{group}@{first + piece_start}", frames[piece_start:piece_end], segments))
    return sessions


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal values in `labels`."""
    cuts = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], cuts, [len(labels)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
