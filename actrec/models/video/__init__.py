"""Clip networks (`x [B, 3, T, H, W]` -> logits); importing registers them in the one registry,
`actrec.models.registry.MODELS`, tagged `input_medium="video"`."""

from actrec.models.video import r3d, slowfast, tsm, tsn, x3d  # noqa: F401  (registration side effect)
from actrec.models.video.registry import build_video_model, clip_capabilities, make_video_config

__all__ = ["build_video_model", "clip_capabilities", "make_video_config"]
