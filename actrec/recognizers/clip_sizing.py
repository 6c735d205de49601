"""`model="auto"` for clips: a network, input size, frames and motion input sized to the data.

A few hundred clips cannot train an ImageNet-sized 2D ResNet on 112 px RGB frames from scratch:
it fits backgrounds and stays near chance on clips of other scenes. What they can train is a
narrow network on small frames that sees differences of frames (`motion=diff`), where a still
scene cancels and only what moves is left. So the choice follows the number of clips:

- fewer than 1,500: TSM width 16, depth 10 on 64 px crops, 9 frames (`dense`, 8 differences),
  dropout 0. `bench/video.py --few` measures it on generated motion-only clips of 112 px.
- fewer than 15,000: TSM width 32, depth 18 on 112 px crops, 9 frames, differences (not measured
  here: a middle step between the measured small plan and the large one).
- more: TSM at torchvision's size (width 64, depth 18), 112 px, 8 RGB segments: enough clips to
  learn appearance as well, and the layout torchvision's ImageNet weights start (`--init`).

Frames are never enlarged: a video smaller than the chosen crop gives its own short side. The
frame spacing (`stride`) is set so 9 frames span most of the first readable video (at most 3
apart), so short clips are not looped. Options the user gave win over every choice here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from actrec.data.clips import ClipList
from actrec.errors import DataError
from actrec.recognizers.clip_config import VideoTrainConfig

FEW_CLIPS = 1500
MANY_CLIPS = 15000


@dataclass(frozen=True)
class ClipPlan:
    """What `auto` trains: a registered clip model, its options, clip options, and why (`note`)."""

    model: str
    model_options: dict[str, Any] = field(default_factory=dict)
    clip: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class FirstVideo:
    """The facts of the first readable training video a plan reads (short side px, frames)."""

    short_side: int
    frame_count: int


def first_video(clips: ClipList) -> FirstVideo | None:
    from actrec.io.video import video_info

    for path in clips.paths:
        try:
            info = video_info(path)
        except DataError:
            continue
        if min(info.width, info.height) > 0:
            return FirstVideo(min(info.width, info.height), max(0, info.frame_count))
    return None


def plan_for_clips(n_clips: int, video: FirstVideo | None) -> ClipPlan:
    """The plan for `n_clips` labelled clips whose first readable video is `video`."""
    frames = 9
    if n_clips < FEW_CLIPS:
        model_options = {"width": 16, "depth": 10, "dropout": 0.0}
        size, motion, sampling, why = (
            64,
            "diff",
            "dense",
            (
                f"{n_clips} clips are few: a narrow network (width 16, depth 10) on small frames that sees "
                "differences of frames (motion=diff) learns motion from them, where a full-size RGB network fits backgrounds"
            ),
        )
    elif n_clips < MANY_CLIPS:
        model_options = {"width": 32, "depth": 18, "dropout": 0.5}
        size, motion, sampling, why = (
            112,
            "diff",
            "dense",
            f"{n_clips} clips: a half-width ResNet-18 on differences of frames",
        )
    else:
        model_options, size, motion, sampling, frames = {}, 112, "none", "segments", 8
        why = f"{n_clips} clips are enough for torchvision's ResNet-18 width on RGB frames"
    if video is not None:
        size = max(8, min(size, video.short_side))
    clip: dict[str, Any] = {"size": size, "frames": frames, "sampling": sampling, "motion": motion}
    if sampling == "dense":
        length = video.frame_count if video is not None and video.frame_count > 0 else 3 * (frames - 1) + 1
        clip["stride"] = max(1, min(3, (length - 1) // (frames - 1)))
    spacing = f", {clip['stride']} apart" if sampling == "dense" else " (segments)"
    motion_text = ", frame differences" if motion == "diff" else ", RGB"
    note = (
        f"model auto (the default) chose tsm width {model_options.get('width', 64)} depth {model_options.get('depth', 18)}, "
        f"{size} px, {frames} frames{spacing}{motion_text}, because {why}; pick another with --model "
        "(tsn, tsm, r3d, slowfast, x3d) and -o motion=diff|none, size=..., frames=..."
    )
    return ClipPlan("tsm", model_options, clip, note)


def clips_digest(clips: ClipList) -> str:
    """A short fingerprint of which clips (folder/file, span, label) a fit trains on, for a
    checkpoint to tell its clips from others; a moved dataset folder keeps it."""
    import hashlib

    assert clips.y is not None
    rows = [f"{path.parent.name}/{path.name} {clips.span(i)} {clips.y[i]}" for i, path in enumerate(clips.paths)]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:12]


def automatic_size(clips: ClipList, largest: int = 112) -> int:
    """`largest`, or the short side of the first readable video when that is smaller."""
    video = first_video(clips)
    return largest if video is None else max(8, min(largest, video.short_side))


def median_fps(paths: list[Path]) -> float:
    from actrec.io.video import video_info

    rates = []
    for path in paths:
        try:
            rates.append(video_info(path).fps)
        except DataError:
            continue
    rates = [rate for rate in rates if rate > 0]
    return float(np.median(rates)) if rates else 25.0


def plan_config(config: VideoTrainConfig, clips: ClipList) -> tuple[VideoTrainConfig, str]:
    """`config` (of `model="auto"`) with the plan for `clips` in place of `auto`, checked, and the
    note saying why; the options given keep their values."""
    plan = plan_for_clips(clips.n_samples, first_video(clips))
    given_network, given_clip = config.model_options, config.clip
    planned = replace(
        config, model=plan.model, model_options=plan.model_options | given_network, clip=plan.clip | given_clip
    )
    planned.check()
    overridden = {**{k: v for k, v in given_clip.items() if k in plan.clip}, **given_network}
    kept = (
        f"; kept the options given ({', '.join(f'{k}={v}' for k, v in sorted(overridden.items()))})"
        if overridden
        else ""
    )
    return planned, plan.note + kept
