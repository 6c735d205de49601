"""Building a clip network from the one model registry (`actrec.models.registry`, where the clip
networks register with `Capabilities(input_medium="video", sampling=..., min_frames=...)`).

Every clip network takes `x [B, 3, T, H, W]` float32 (normalised RGB) and an ignored `lengths`
(so the shared LightningModule drives it like the sequence models) and returns logits `[B, C]`;
its forward reads `x` through its `motion` slot first (identity unless a motion input is asked).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from actrec.errors import ConfigError
from actrec.models.registry import MODELS, Capabilities, declared_capabilities, make_config


def clip_capabilities(name: str) -> Capabilities:
    """The capabilities clip model `name` declares (its default sampling, fewest frames, onnx)."""
    make_config(name, None, "video")
    return declared_capabilities(MODELS[name][1])


def make_video_config(name: str, options: dict[str, Any] | None) -> Any:
    """The typed, checked config of clip model `name`; unknown names or fields fail with the choices."""
    config = make_config(name, options, "video")
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
    capabilities = clip_capabilities(name)
    seen = network_frames(frames, motion)
    if seen < capabilities.min_frames:
        needed = capabilities.min_frames + frames - seen
        raise ConfigError(
            f"clip model '{name}' needs at least {needed} frames per clip{' with motion=' + motion if motion != 'none' else ''}, got frames={frames}"
        )
    network = MODELS[name][1](n_classes=n_classes, frames=seen, config=config)
    network.motion = step
    return network
