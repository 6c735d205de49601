"""Motion inputs: what a clip network reads before its first layer (TSN's RGB-difference and
optical-flow modalities), and which pictures of each frame a clip carries.

`diff` replaces the T sampled frames by the T - 1 differences of consecutive ones, so a network
sees what changed and not the scene it changed in: a still background cancels, a moving object
leaves a signed trail whose layout tells its direction. On a few hundred clips this is what makes
motion learnable (appearance-only cues are plentiful and useless there). The step is a module
without parameters inside the network, so training, prediction, streaming and the ONNX graph all
compute it the same way, and parameter names stay torchvision's.

`flow` reads dense optical flow instead of RGB: each frame's flow from the frame before it,
computed by OpenCV once per video (`actrec/data/clip_flow.py`) and stored as a 3-channel picture
(horizontal and vertical motion, speed), so every family takes it unchanged. OpenCV's flow cannot
be a step of a graph, so for `flow` the network's motion slot is the identity and the clip
itself carries flow pictures.

Several motions joined by `+` (`none+flow`) are two-stream fusion: one network per motion, each
reading its own picture of the frames, their probabilities weighted (`fusion.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from actrec.data.clip_motion import motion_members


class FrameDifferences(nn.Module):
    """`[B, 3, T, H, W]` normalised frames -> `[B, 3, T - 1, H, W]`: frame t + 1 minus frame t."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 1:] - x[:, :, :-1]


def motion_input(motion: str) -> nn.Module:
    """The input step of one motion (`none` and `flow`: the clip as it comes)."""
    (member,) = motion_members(motion)
    return FrameDifferences() if member == "diff" else nn.Identity()


def network_frames(frames: int, motion: str) -> int:
    """How many frames the network after the motion step sees, of `frames` sampled."""
    return frames - 1 if motion == "diff" else frames
