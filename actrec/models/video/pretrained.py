"""Pretrained weights for a clip network: a torchvision- or mmaction2-named state dict (`--init`)
copied in where names and shapes match, a 2D ResNet inflated for a 3D one. Read with safetensors
or `torch.load(weights_only=True)`: never unpickled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from actrec.errors import ConfigError
from actrec.models.video.resnet import from_mmaction2, is_mmaction2_layout


def load_init(network: torch.nn.Module, path: str | Path) -> str:
    """Copy a torchvision-named state dict into `network` where names and shapes match.

    `.safetensors` is read with safetensors, anything else with `torch.load(weights_only=True)`
    (a `state_dict` entry and `module.` prefixes are unwrapped). mmaction2's layout (`backbone.`,
    `cls_head.fc_cls.`, ConvModule's `.conv`/`.bn`) is renamed to torchvision's first. A 2D ResNet
    checkpoint given to an inflated 3D ResNet is inflated I3D-style. Returns a one-line summary; ConfigError if
    nothing matches.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--init {path}: file not found")
    state: Any  # a state dict, or whatever the file holds (checked below)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  foreign pickles, truncated files
        raise ConfigError(
            f"--init {path}: not a weights-only state dict ({type(error).__name__}); save it with torch.save(model.state_dict()) or safetensors"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConfigError(f"--init {path}: holds no state dict (name -> tensor mapping)")
    state = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if is_mmaction2_layout(state):
        state = from_mmaction2(state)
    target = network.state_dict()
    if "stem.0.weight" in target and "conv1.weight" in state and state["conv1.weight"].dim() in (4, 5):
        from actrec.models.video.r3d import inflate_resnet2d

        state = inflate_resnet2d(state, target)
    matched = {k: v for k, v in state.items() if k in target and target[k].shape == v.shape}
    if not matched:
        raise ConfigError(f"--init {path}: none of its {len(state)} tensors matches this network's names and shapes")
    network.load_state_dict(matched, strict=False)
    skipped = sorted(k for k in target if k not in matched and not k.endswith("num_batches_tracked"))
    more = (
        f"; kept initial values for {len(skipped)} ({', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''})"
        if skipped
        else ""
    )
    return f"--init {path}: loaded {len(matched)} tensors{more}"
