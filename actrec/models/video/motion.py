"""Motion inputs: what a clip network reads before its first layer (TSN's RGB-difference modality).

`diff` replaces the T sampled frames by the T - 1 differences of consecutive ones, so a network
sees what changed and not the scene it changed in: a still background cancels, a moving object
leaves a signed trail whose layout tells its direction. On a few hundred clips this is what makes
motion learnable (appearance-only cues are plentiful and useless there). The step is a module
without parameters inside the network, so training, prediction, streaming and the ONNX graph all
compute it the same way, and parameter names stay torchvision's.
"""

from __future__ import annotations

import torch
from torch import nn

from actrec.errors import ConfigError

MOTIONS = ("none", "diff")


class FrameDifferences(nn.Module):
    """`[B, 3, T, H, W]` normalised frames -> `[B, 3, T - 1, H, W]`: frame t + 1 minus frame t."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 1:] - x[:, :, :-1]


def motion_input(motion: str) -> nn.Module:
    """The input step of `motion` (`none`: the frames as they are)."""
    if motion not in MOTIONS:
        raise ConfigError(f"motion '{motion}' is not one of: {', '.join(MOTIONS)}")
    return FrameDifferences() if motion == "diff" else nn.Identity()


def network_frames(frames: int, motion: str) -> int:
    """How many frames the network after the motion step sees, of `frames` sampled."""
    return frames - 1 if motion == "diff" else frames
