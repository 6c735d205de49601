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

    Raises DataError when `start_frame` holds something other than whole numbers, or when two
    windows of one group disagree on a frame they share (then `start_frame` does not place them
    in one recording).
    """
    if not has_order(dataset):
        return []
    starts = _start_frames(dataset)
    sessions = []
    assert dataset.groups is not None  # has_order: windows carry groups
    for group in sorted(set(dataset.groups.tolist())):
        members = np.flatnonzero(dataset.groups == group)
        members = members[np.argsort(starts[members], kind="stable")]
        ends = starts[members] + dataset.lengths[members]
        # a new stretch starts where a window begins after every earlier one has ended
        breaks = np.flatnonzero(starts[members][1:] > np.maximum.accumulate(ends)[:-1]) + 1
        for stretch in np.split(members, breaks):
            sessions.append(_rebuild(dataset, group, stretch, starts[stretch]))
    return sessions


def _start_frames(dataset: SequenceDataset) -> np.ndarray:
    """int64 `[N]` from meta start_frame; DataError naming the first sample that has no whole number."""
    values = np.asarray(dataset.meta[ORDER_KEY])
    if values.dtype.kind in "iuf":
        numbers = values.astype(np.float64)
    else:
        numbers = np.array([float(v) if _is_number(v) else np.nan for v in values.tolist()])
    bad = np.flatnonzero(~np.isfinite(numbers) | (numbers != np.round(numbers)) | (np.abs(numbers) > 2**53))
    if bad.size:
        raise DataError(
            f"{dataset.source}: sample {dataset.sample_id(bad[0])} has meta {ORDER_KEY} {values[bad[0]]!r}; "
            "give the frame each window starts at in its recording, a whole number"
        )
    return numbers.astype(np.int64)


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _rebuild(dataset: SequenceDataset, group: str, members: np.ndarray, starts: np.ndarray) -> LabelledSession:
    """One unbroken stretch of a group's windows (sorted by start) laid back on the recording's
    timeline: at most the sum of their lengths, whatever `start_frame` says."""
    ends = starts + dataset.lengths[members]
    first, last = int(starts.min()), int(ends.max())
    frames = np.zeros((last - first, *dataset.X.shape[2:]), dtype=np.float32)
    covered = np.zeros(last - first, dtype=bool)
    for index, start, end in zip(members.tolist(), (starts - first).tolist(), (ends - first).tolist()):
        window = dataset.X[index, : end - start]
        seen = covered[start:end]
        if not np.array_equal(frames[start:end][seen], window[seen], equal_nan=True):
            raise DataError(
                f"{dataset.source}: window {dataset.sample_id(index)} differs from an earlier window of group '{group}' on frames "
                f"both cover by meta {ORDER_KEY}; windows of one recording must copy the same frames"
            )
        frames[start:end] = window
        covered[start:end] = True
    # each frame's label: the window whose centre is nearest (boundaries fall half-way between)
    centres = (starts + ends - 1) / 2.0 - first
    by_centre = np.argsort(centres, kind="stable")
    centres, window_labels = centres[by_centre], dataset.labels[members][by_centre]
    positions = np.arange(last - first)
    right = np.searchsorted(centres, positions).clip(0, len(centres) - 1)
    left = (right - 1).clip(0)
    nearest = np.where(np.abs(centres[left] - positions) <= np.abs(centres[right] - positions), left, right)
    labels = window_labels[nearest]
    segments = [(dataset.label_names[int(labels[a])], a, b) for a, b in _label_runs(labels)]
    return LabelledSession(f"{group}@{first}", frames, segments)


def _label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal values in `labels`."""
    cuts = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], cuts, [len(labels)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
