"""Motion names and the pictures a clip carries for them: which inputs `clip.motion` may name
(`none`, `diff`, `flow`, or several joined by `+` for fusion) and which pictures of each frame
(RGB, optical flow) the clip sampler stacks for them. Data, read both by the sampler here and by
the networks' motion steps (`models/video/motion.py`)."""

from __future__ import annotations

from actrec.errors import ConfigError

MOTIONS = ("none", "diff", "flow")
# the pictures of a frame a clip can carry, in the order they are stacked along the channels
SOURCES = ("rgb", "flow")
CHANNELS = 3  # per picture


def motion_members(motion: str) -> list[str]:
    """The motions of `motion` (`none`, `flow`, or fused `none+flow`); ConfigError when unknown."""
    members = motion.split("+")
    unknown = [member for member in members if member not in MOTIONS]
    if unknown or not members:
        raise ConfigError(
            f"motion '{motion}' is not one of: {', '.join(MOTIONS)} (or several joined by '+' for fusion, e.g. none+flow)"
        )
    if len(set(members)) != len(members):
        raise ConfigError(f"motion '{motion}': name each fused motion once")
    return members


def motion_source(motion: str) -> str:
    """The picture (`SOURCES`) one motion reads."""
    return "flow" if motion == "flow" else "rgb"


def clip_sources(motion: str) -> list[str]:
    """The pictures a clip for `motion` (fused or not) stacks along its channels, in `SOURCES` order."""
    wanted = {motion_source(member) for member in motion_members(motion)}
    return [source for source in SOURCES if source in wanted]
