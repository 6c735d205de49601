"""Which frames a clip takes, how it is augmented, and the torch Dataset that serves clips.

Sampling: `segments` (TSN) splits the video into T equal parts and takes one frame from each
(a random one in training, the middle one at test); `dense` takes T frames `stride` apart from a
random (training) or central (test) start, looping a video shorter than the span. Every
augmentation draws its parameters once per clip and applies them to all frames, so motion is
never faked by jitter between frames. Horizontal flips are off unless asked, because they turn
"left" into "right": with `flip_pairs` the labels are swapped along with the pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from actrec.data.clip_flow import negated
from actrec.data.clip_motion import CHANNELS, clip_sources, motion_members
from actrec.data.clip_prepare import BAD_VIDEO_CHOICES
from actrec.errors import ConfigError

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1, 1)  # ImageNet, as torchvision's weights expect
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1, 1)
SAMPLINGS = ("segments", "dense")
TEST_CROPS = (1, 3)


@dataclass
class ClipConfig:
    """How clips are read and served (the `-o` options that are not the network's).

    frames: T frames per clip; stride: frames between them (dense); sampling: segments | dense
    (default: the model's); size: crop side in pixels (0: 112, or the first training video's short
    side when that is smaller, so small videos are never blown up); short_side: frames are stored with this
    short side (default: size); min_scale: smallest area fraction of the random resized crop;
    jitter: colour jitter strength (0: none); flip: random horizontal flips, swapping the labels
    of each `flip_pairs` entry ("left:right"); test_clips: clips averaged per video at test
    (evenly spaced in time); test_crops: 1 (centre) or 3 crops per clip averaged at test (start,
    centre and end of the frame's long side; the diagonal of a square frame larger than `size`,
    so 3 crops only differ when `short_side` > `size` or the video is not square); cache: folder to keep decoded frames in across runs (default: a temporary one); workers:
    DataLoader processes that decode and augment; on_bad_video: skip | stop; motion: what the
    network reads of the frames (`none`: the frames; `diff`: differences of consecutive ones, a
    step inside the network; `flow`: dense optical flow pictures, computed once per video into
    the cache, `data/clip_flow.py`; several joined by `+`, e.g. `none+flow`: one network per motion,
    fused; `models/video/motion.py`).
    """

    frames: int = 8
    stride: int = 2
    sampling: str = ""
    size: int = 0
    short_side: int = 0
    min_scale: float = 0.5
    jitter: float = 0.2
    flip: bool = False
    flip_pairs: list[str] = field(default_factory=list)
    test_clips: int = 1
    test_crops: int = 1
    cache: str | None = None
    workers: int = 0
    on_bad_video: str = "skip"
    motion: str = "none"

    def check(self, label_names: list[str] | None = None) -> None:
        if self.sampling and self.sampling not in SAMPLINGS:
            raise ConfigError(f"sampling '{self.sampling}' is not one of: {', '.join(SAMPLINGS)}")
        if self.frames < 1 or self.stride < 1 or 0 < self.size < 8 or self.test_clips < 1:
            raise ConfigError("clips need frames >= 1, stride >= 1, size >= 8 (or 0: automatic) and test_clips >= 1")
        if self.test_crops not in TEST_CROPS:
            raise ConfigError(f"test_crops {self.test_crops} is not one of: {', '.join(map(str, TEST_CROPS))}")
        if not 0.0 < self.min_scale <= 1.0:
            raise ConfigError(f"min_scale must be in (0, 1], got {self.min_scale}")
        motion_members(self.motion)
        if self.on_bad_video not in BAD_VIDEO_CHOICES:
            raise ConfigError(f"on_bad_video '{self.on_bad_video}' is not one of: {', '.join(BAD_VIDEO_CHOICES)}")
        for pair in self.flip_pairs:
            names = pair.split(":")
            if len(names) != 2 or (label_names is not None and not set(names) <= set(label_names)):
                raise ConfigError(
                    f"flip pair '{pair}' must be two class names as 'left:right'"
                    + (f" among: {', '.join(label_names)}" if label_names else "")
                )

    @property
    def stored_side(self) -> int:
        return self.short_side or self.size

    @property
    def sources(self) -> list[str]:
        """The pictures of each frame a clip stacks along its channels (`rgb`, `flow`)."""
        return clip_sources(self.motion)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


def frame_indices(
    length: int, frames: int, sampling: str, stride: int, rng: np.random.Generator | None, clip: int = 0, clips: int = 1
) -> np.ndarray:
    """`[frames]` indices into a video of `length` frames; `rng` None means test-time (centre, or
    `clip` of `clips` evenly spaced views)."""
    if sampling == "segments":
        edges = np.linspace(0, length, frames + 1)
        if rng is not None:
            offsets = rng.uniform(0, 1, frames)
        else:
            offsets = np.full(frames, (clip + 0.5) / clips)
        return np.minimum((edges[:-1] + offsets * (edges[1:] - edges[:-1])).astype(np.int64), length - 1)
    span = (frames - 1) * stride + 1
    room = max(0, length - span)
    if rng is not None:
        start = int(rng.integers(0, room + 1))
    else:
        start = int(round(room * (clip + 0.5) / clips - 0.5)) if clips > 1 else room // 2
    return (start + stride * np.arange(frames)) % length


def flip_table(label_names: list[str], pairs: list[str]) -> np.ndarray:
    """`[C]` label index after a horizontal flip (identity except the swapped pairs)."""
    table = np.arange(len(label_names))
    index = {name: i for i, name in enumerate(label_names)}
    for pair in pairs:
        left, right = pair.split(":")
        table[index[left]], table[index[right]] = index[right], index[left]
    return table


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 `[T, H, W, 3 x pictures]` -> normalised float32 `[3 x pictures, T, H, W]` (every
    picture, RGB or flow, by the ImageNet mean and std)."""
    return normalise(torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float().div_(255.0))


def normalise(x: torch.Tensor) -> torch.Tensor:
    """`[3 x pictures, T, H, W]` values in [0, 1] -> minus the mean, over the std, per channel."""
    pictures = x.shape[0] // CHANNELS
    return (x - MEAN.repeat(pictures, 1, 1, 1)) / STD.repeat(pictures, 1, 1, 1)


def centre_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """`[T, H, W, 3]` -> the central `size x size` (resized up first if a side is shorter)."""
    return view_crop(frames, size, 0, 1)


def view_crop(frames: np.ndarray, size: int, crop: int, crops: int) -> np.ndarray:
    """`[T, H, W, 3]` -> crop `crop` of `crops` (1: the centre; 3: start, centre, end along the
    long side, mmaction2's ThreeCrop, or along the diagonal of a square frame), `size x size`.
    A frame with a side shorter than `size` is resized up to `size x size` instead."""
    height, width = frames.shape[1:3]
    if min(height, width) < size:
        return resize_frames(frames, size)
    position = crop if crops == 3 else 1  # 0: start, 1: centre, 2: end
    top, left = (height - size) * position // 2, (width - size) * position // 2
    return frames[:, top : top + size, left : left + size]


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def random_resized_crop(frames: np.ndarray, size: int, min_scale: float, rng: np.random.Generator) -> np.ndarray:
    """One crop box (area fraction in [min_scale, 1], aspect in [3/4, 4/3]) for every frame."""
    height, width = frames.shape[1:3]
    area = height * width
    for _ in range(10):
        target = area * rng.uniform(min_scale, 1.0)
        aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            return resize_frames(frames[:, top : top + h, left : left + w], size)
    return resize_frames(centre_crop(frames, min(height, width)), size)


def colour_jitter(x: torch.Tensor, strength: float, rng: np.random.Generator) -> torch.Tensor:
    """Brightness, contrast and saturation factors in [1 - s, 1 + s], one draw per clip, on
    `[3, T, H, W]` values in [0, 1]."""
    brightness, contrast, saturation = rng.uniform(1 - strength, 1 + strength, 3)
    x = x * brightness
    x = (x - x.mean()) * contrast + x.mean()
    grey = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]).unsqueeze(0)
    x = (x - grey) * saturation + grey
    return x.clamp_(0, 1)


class ClipDataset(Dataset):
    """Items `(clip [3P, T, S, S] float32, T, label)`; training ones are freshly sampled and
    augmented per (seed, epoch, index), test ones stacked views `[V, 3P, T, S, S]` when there are
    V = test_clips x test_crops > 1 (clip-major: the crops of clip 0 first).

    frames_of(i) -> uint8 `[L, H, W, 3P]`: the P pictures of `config.sources` (RGB, flow) of
    every frame, from the frame cache. Crops and flips apply to all of them alike; colour jitter
    to RGB only, and a flip negates the flow's horizontal motion.
    """

    def __init__(
        self,
        frames_of: Callable[[int], np.ndarray],
        count: int,
        y: np.ndarray | None,
        config: ClipConfig,
        sampling: str,
        train: bool,
        seed: int = 0,
        flip_labels: np.ndarray | None = None,
    ) -> None:
        self.frames_of, self.count, self.config = frames_of, count, config
        self.y = np.zeros(count, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
        self.sampling, self.train, self.seed = sampling, train, seed
        self.flip_labels = flip_labels
        self.epoch = 0

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        config, video = self.config, self.frames_of(index)
        label = int(self.y[index])
        if not self.train:
            views = []
            for index_clip in range(config.test_clips):
                frames = np.asarray(
                    video[
                        frame_indices(
                            len(video), config.frames, self.sampling, config.stride, None, index_clip, config.test_clips
                        )
                    ]
                )
                views += [
                    to_tensor(view_crop(frames, config.size, crop, config.test_crops))
                    for crop in range(config.test_crops)
                ]
            clip = views[0] if len(views) == 1 else torch.stack(views)
            return clip, torch.tensor(config.frames), torch.tensor(label)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        frames = np.asarray(video[frame_indices(len(video), config.frames, self.sampling, config.stride, rng)])
        frames = random_resized_crop(frames, config.size, config.min_scale, rng)
        sources = config.sources
        if config.flip and rng.random() < 0.5:
            frames = frames[:, :, ::-1].copy()
            if "flow" in sources:
                horizontal = CHANNELS * sources.index("flow")
                frames[..., horizontal] = negated(frames[..., horizontal])
            if self.flip_labels is not None:
                label = int(self.flip_labels[label])
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float().div_(255.0)
        if config.jitter > 0 and "rgb" in sources:
            rgb = CHANNELS * sources.index("rgb")
            x[rgb : rgb + CHANNELS] = colour_jitter(x[rgb : rgb + CHANNELS], config.jitter, rng)
        return normalise(x), torch.tensor(config.frames), torch.tensor(label)


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`-o` options -> (ClipConfig fields, network options)."""
    clip_keys = ClipConfig.field_names()
    return {k: v for k, v in options.items() if k in clip_keys}, {
        k: v for k, v in options.items() if k not in clip_keys
    }
