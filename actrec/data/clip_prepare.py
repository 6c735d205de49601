"""Clips checked before training: each decoded once into the frame cache (in DataLoader
workers when asked), and a corrupt, empty or too-short one skipped with one line or stopping the
run (`--on-bad-video`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actrec.data.clip_flow import FLOW_KEY, flow_pictures
from actrec.data.clips import ClipList
from actrec.errors import ConfigError, DataError
from actrec.io.clips import FrameCache

BAD_VIDEO_CHOICES = ("skip", "stop")


class CachedFrames:
    """`frames_of(i)` for ClipDataset: clip i's pictures (`sources`: its RGB frames and/or its
    optical flow pictures) from the cache, stacked along the channels `[L, H, W, 3 x sources]`;
    decoded or computed on first use (picklable for workers)."""

    def __init__(self, cache: FrameCache, clips: ClipList, sources: Sequence[str] = ("rgb",)) -> None:
        self.cache, self.clips, self.sources = cache, clips, list(sources)

    def __call__(self, index: int) -> np.ndarray:
        path, span = self.clips.paths[index], self.clips.span(index)
        pictures = [
            self.cache.frames(path, span)
            if source == "rgb"
            else self.cache.derived(path, span, FLOW_KEY, flow_pictures)
            for source in self.sources
        ]
        return pictures[0] if len(pictures) == 1 else np.concatenate(pictures, axis=-1)


class _DecodeAll:
    """Torch-style dataset: item i reads clip i (decoding it into the cache on first use) and
    returns (i, frames or 0, error or "")."""

    def __init__(self, clips: ClipList, read: CachedFrames) -> None:
        self.clips, self.read = clips, read

    def __len__(self) -> int:
        return self.clips.n_samples

    def __getitem__(self, index: int) -> tuple[int, int, str]:
        try:
            return index, len(self.read(index)), ""
        except DataError as error:
            return index, 0, str(error)
        except Exception as error:  # noqa: BLE001  any decoder failure becomes one line, not a traceback
            return index, 0, f"{self.clips.paths[index]}: cannot be decoded ({type(error).__name__}: {error})"


def prepare_clips(
    clips: ClipList,
    cache: FrameCache,
    min_frames: int,
    on_bad_video: str = "skip",
    workers: int = 0,
    sources: Sequence[str] = ("rgb",),
) -> tuple[ClipList, list[str]]:
    """Decode every clip into `cache` (in `workers` DataLoader processes) and check it; with
    `flow` among `sources` its optical flow pictures are computed into the cache too, once.

    Returns the good clips and one message per bad one (corrupt, empty, fewer than `min_frames`
    frames). `on_bad_video="stop"` raises the first message as a DataError instead.
    """
    if on_bad_video not in BAD_VIDEO_CHOICES:
        raise ConfigError(f"on_bad_video '{on_bad_video}' is not one of: {', '.join(BAD_VIDEO_CHOICES)}")
    from torch.utils.data import DataLoader

    read = CachedFrames(cache, clips, sources)
    results = list(DataLoader(_DecodeAll(clips, read), batch_size=None, num_workers=workers))  # type: ignore[arg-type]
    messages = []
    keep = []
    for index, length, error in sorted((int(i), int(n), e) for i, n, e in results):
        if not error and length < min_frames:
            error = f"{clips.paths[index]}: only {length} frame(s), the model samples {min_frames} per clip (too short)"
        if error:
            if on_bad_video == "stop":
                raise DataError(f"{error}; fix or remove it, or pass --on-bad-video skip")
            messages.append(f"skipped bad video {error}")
        else:
            keep.append(index)
    if not keep:
        raise DataError(f"{clips.source}: none of the {clips.n_samples} videos could be used; the first: {messages[0]}")
    return clips.subset(keep), messages
