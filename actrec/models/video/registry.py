"""Name -> (typed config, network, capabilities) table for the clip models.

Every clip network takes `x [B, 3, T, H, W]` float32 (normalised RGB) and an ignored `lengths`
(so the shared LightningModule drives it like the sequence models) and returns logits `[B, C]`;
its forward reads `x` through its `motion` slot first (identity unless a motion input is asked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from actrec.errors import ConfigError


@dataclass(frozen=True)
class VideoCapabilities:
    """sampling: how clips are drawn by default (`segments`: one frame from each of T equal parts,
    TSN-style; `dense`: T consecutive frames `stride` apart). min_frames: the smallest T the
    network accepts. onnx: exports with a parity check."""

    sampling: str
    min_frames: int = 1
    onnx: bool = True


VIDEO_MODELS: dict[str, tuple[type, type[nn.Module], VideoCapabilities]] = {}
# well-known clip architectures that are options of a registered model, for the unknown-name message
KNOWN_AS = {
    "i3d": "r3d -o conv=inflated (I3D's inflated 3D ResNet)",
    "r2plus1d": "r3d -o conv=r2plus1d",
    "r(2+1)d": "r3d -o conv=r2plus1d",
}


def register_video_model(
    name: str, config_class: type, capabilities: VideoCapabilities
) -> Callable[[type[nn.Module]], type[nn.Module]]:
    def decorate(network_class: type[nn.Module]) -> type[nn.Module]:
        VIDEO_MODELS[name] = (config_class, network_class, capabilities)
        network_class.capabilities = capabilities  # type: ignore[attr-defined]
        return network_class

    return decorate


def is_video_model(name: str) -> bool:
    return name in VIDEO_MODELS


def make_video_config(name: str, options: dict[str, Any] | None) -> Any:
    """The typed config of clip model `name`; unknown names or fields fail with the choices."""
    if name not in VIDEO_MODELS:
        hint = f"; {name} is {KNOWN_AS[name.lower()]}" if name.lower() in KNOWN_AS else ""
        raise ConfigError(f"unknown clip model '{name}'{hint}; choose one of: {', '.join(sorted(VIDEO_MODELS))}")
    config_class = VIDEO_MODELS[name][0]
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(options or {}) - known)
    if unknown:
        raise ConfigError(
            f"clip model '{name}' has no option '{unknown[0]}'; its options are: {', '.join(sorted(known))}"
        )
    config = config_class(**(options or {}))
    if hasattr(config, "check"):
        config.check()
    return config


def build_video_model(
    name: str, n_classes: int, frames: int, options: dict[str, Any] | None = None, motion: str = "none"
) -> nn.Module:
    """Network `name` for clips of `frames` sampled frames and `n_classes` logits, reading them
    through the `motion` input step (`models/video/motion.py`) held in its `motion` slot; fused
    motions (`none+flow`) give a `ClipFusion` of one such network per motion."""
    from actrec.data.clip_motion import CHANNELS, clip_sources, motion_members, motion_source
    from actrec.models.video.motion import motion_input, network_frames

    members = motion_members(motion)
    if len(members) > 1:
        from actrec.models.video.fusion import ClipFusion

        sources = clip_sources(motion)
        return ClipFusion(
            [build_video_model(name, n_classes, frames, options, member) for member in members],
            [CHANNELS * sources.index(motion_source(member)) for member in members],
            CHANNELS,
        )
    config = make_video_config(name, options)
    step = motion_input(motion)
    capabilities = VIDEO_MODELS[name][2]
    seen = network_frames(frames, motion)
    if seen < capabilities.min_frames:
        needed = capabilities.min_frames + frames - seen
        raise ConfigError(
            f"clip model '{name}' needs at least {needed} frames per clip{' with motion=' + motion if motion != 'none' else ''}, got frames={frames}"
        )
    network = VIDEO_MODELS[name][1](n_classes=n_classes, frames=seen, config=config)
    network.motion = step
    return network
