"""Clip datasets: the labelled video files a clip model trains on, built from what
`actrec.io.clips.read_clips` read (labels encoded the way every loader encodes them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from actrec.data.labels import encode_labels
from actrec.errors import DataError
from actrec.io.clips import read_clips


@dataclass
class ClipList:
    """Labelled video files.

    paths: `[N]` video files; y: int64 `[N]` into `label_names` (None when unlabelled); groups:
    `[N]` strings that never straddle a split, or None; start_s / end_s: `[N]` seconds to cut
    from each video (NaN: from the start / to the end), or None; source: quoted in messages.
    Has `y` (and `labels`), `groups`, `label_names`, `n_samples`, `n_classes` and `source` like
    SequenceDataset, so the shared stratified, group-aware splits work on it.
    """

    paths: list[Path]
    y: np.ndarray | None
    label_names: list[str]
    groups: np.ndarray | None = None
    start_s: np.ndarray | None = None
    end_s: np.ndarray | None = None
    source: str = "<clips>"

    @property
    def n_samples(self) -> int:
        return len(self.paths)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    @property
    def labels(self) -> np.ndarray:
        """`y` where labels are required (fitting, scoring): a DataError naming the list when it has none."""
        if self.y is None:
            raise DataError(f"{self.source}: has no labels")
        return self.y

    @property
    def ids(self) -> np.ndarray:
        return np.array([str(path) for path in self.paths], dtype=object)

    def subset(self, index: Sequence[int] | np.ndarray) -> ClipList:
        index = np.asarray(index, dtype=np.int64)
        pick = lambda values: None if values is None else np.asarray(values)[index]
        return replace(
            self,
            paths=[self.paths[i] for i in index],
            y=pick(self.y),
            groups=pick(self.groups),
            start_s=pick(self.start_s),
            end_s=pick(self.end_s),
        )

    def span(self, index: int) -> tuple[float | None, float | None]:
        def value(values: np.ndarray | None) -> float | None:
            return None if values is None or not np.isfinite(values[index]) else float(values[index])

        return value(self.start_s), value(self.end_s)


def load_clips(spec: str | Path, label_names: Sequence[str] | None = None) -> ClipList:
    """A clip folder (`class/video.mp4`; videos directly in the folder are unlabelled), a single
    video, or a clips CSV (`path,label[,group][,start,end]`, paths relative to the CSV), with
    labels as indexes into `label_names` (the sorted labels found when not given)."""
    files = read_clips(spec)
    y, names = None, list(label_names or [])
    if files.labels is not None:
        y, names = encode_labels(files.labels, files.source, files.row_ids, label_names)
    return ClipList(files.paths, y, names, files.groups, files.start_s, files.end_s, files.source)
