"""`VideoTrainConfig`: the clip recognizer's options, the ones every training shares
(`actrec.config.TrainingOptions`) and the clips' own; checked by `check`, which `fit` calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actrec.config import TrainingOptions, option
from actrec.data.clip_sampling import ClipConfig
from actrec.errors import ConfigError
from actrec.models.video import clip_capabilities, make_video_config

AUTO = "auto"


@dataclass
class VideoTrainConfig(TrainingOptions):
    """Everything `fit` needs besides the clips: the options every training shares
    (`actrec.config.TrainingOptions`, some with other defaults here) and the clips' own; saved
    with the model and in RUN/config.json.

    model: a registered clip model, or `auto` (`recognizers/clip_sizing.py`: a network, size, frames and
    motion input chosen from the number of clips when they are first prepared; options given
    here win over its choices). model_options: the network's options (depth, width, ...); clip:
    `ClipConfig` fields (frames, size, sampling, motion, augmentation, cache). init: a
    torchvision-named state dict (.safetensors, or .pt/.pth read with weights_only) to start
    from; tensors whose shapes differ are skipped. Clip runs train in one process (`devices` and
    `num_nodes` 1).
    """

    model: str = option(AUTO, "auto, tsn, tsm, r3d, slowfast, x3d", member=False)
    batch_size: int = option(8, "clips per gradient step")
    patience: int = option(10, "early-stopping patience in epochs")
    class_weight: str | None = option("balanced", "balanced | none: loss weights by inverse class frequency")
    clip: dict[str, Any] = option({}, "clip options: frames, size, sampling, motion, augmentation, cache")
    init: str | None = option(None, "a torchvision-named state dict to start from (.safetensors, .pt, .pth)")

    def clip_config(self) -> ClipConfig:
        known = ClipConfig.field_names()
        unknown = sorted(set(self.clip) - known)
        if unknown:
            raise ConfigError(f"unknown clip option '{unknown[0]}'; clip options are: {', '.join(sorted(known))}")
        config = ClipConfig(**self.clip)
        if not config.sampling and self.model != AUTO:
            config.sampling = clip_capabilities(self.model).sampling
        return config

    def check(self) -> None:
        super().check()
        if self.model != AUTO:
            make_video_config(self.model, self.model_options)
        self.clip_config().check()
        if self.devices != 1 or self.num_nodes != 1:
            raise ConfigError(
                f"clip models train in one process; drop devices={self.devices} / num_nodes={self.num_nodes}"
            )
