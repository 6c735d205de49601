"""Clip networks (`x [B, 3, T, H, W]` -> logits); importing registers them in `VIDEO_MODELS`."""

from actrec.models.video import r3d, slowfast, tsm, tsn, x3d  # noqa: F401  (registration side effect)
from actrec.models.video.registry import (
    VIDEO_MODELS,
    VideoCapabilities,
    build_video_model,
    is_video_model,
    make_video_config,
)

__all__ = ["VIDEO_MODELS", "VideoCapabilities", "build_video_model", "is_video_model", "make_video_config"]
