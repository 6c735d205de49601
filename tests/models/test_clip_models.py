"""Clip networks: shapes, torchvision parameter names and counts, the temporal shift, --init."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from actrec.errors import ConfigError
from actrec.models.video import build_video_model
from actrec.models.video.pretrained import load_init
from actrec.models.video.tsm import TemporalShift

TINY = {"width": 8, "depth": 10}


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("tsn", TINY),
        ("tsm", TINY),
        ("r3d", TINY),
        ("r3d", TINY | {"conv": "r2plus1d"}),
        ("slowfast", TINY | {"beta_inv": 4}),
        ("x3d", {"width": 4, "depths": [1, 1], "head_width": 16}),
        ("tsn", {"width": 4, "depth": 50}),
        ("tsm", {"width": 4, "depth": 34}),
        ("r3d", {"width": 4, "depth": 50}),
        ("slowfast", {"width": 8, "depth": 50, "beta_inv": 4}),
    ],
)
def test_every_family_maps_a_clip_batch_to_logits(name: str, options: dict) -> None:
    network = build_video_model(name, 5, 8, options).eval()
    with torch.no_grad():
        assert network(torch.randn(2, 3, 8, 32, 32)).shape == (2, 5)


def test_parameter_counts_match_torchvision_resnet18_and_r3d_18() -> None:
    """torchvision's resnet18 (1000 classes) has 11,689,512 parameters and r3d_18 (400) 33,371,472."""
    count = lambda network: sum(p.numel() for p in network.parameters())
    assert count(build_video_model("tsm", 1000, 8, {})) == 11_689_512
    assert count(build_video_model("r3d", 400, 8, {})) == 33_371_472
    assert count(build_video_model("r3d", 400, 8, {"conv": "r2plus1d"})) == 31_505_325


def test_names_follow_torchvision() -> None:
    names2d = set(build_video_model("tsn", 10, 8, {}).state_dict())
    assert {
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv1.weight",
        "layer2.0.downsample.0.weight",
        "layer4.1.bn2.bias",
        "fc.weight",
    } <= names2d
    assert names2d == set(build_video_model("tsm", 10, 8, {}).state_dict())  # the shift has no parameters
    names3d = set(build_video_model("r3d", 10, 8, {}).state_dict())
    assert {
        "stem.0.weight",
        "stem.1.weight",
        "layer1.0.conv1.0.weight",
        "layer1.0.conv1.1.weight",
        "layer2.0.downsample.0.weight",
        "fc.bias",
    } <= names3d


def test_temporal_shift_moves_one_eighth_of_channels_each_way() -> None:
    frames, channels = 4, 8
    x = (
        torch.arange(frames, dtype=torch.float32)
        .view(1, frames, 1, 1, 1)
        .expand(1, frames, channels, 1, 1)
        .reshape(frames, channels, 1, 1)
    )
    out = TemporalShift(frames, shift_div=8)(x).reshape(frames, channels)
    assert out[:, 0].tolist() == [1, 2, 3, 0]  # channel 0 reads the next frame (0 past the end)
    assert out[:, 1].tolist() == [0, 0, 1, 2]  # channel 1 reads the previous frame
    assert out[:, 2:].equal(torch.arange(frames, dtype=torch.float32)[:, None].expand(frames, 6))


def test_init_loads_a_weights_only_state_dict_and_skips_a_different_head(tmp_path: Path) -> None:
    source = build_video_model("tsn", 1000, 8, TINY)
    path = tmp_path / "resnet.pt"
    torch.save(source.state_dict(), path)
    target = build_video_model("tsm", 3, 8, TINY)
    summary = load_init(target, path)
    assert torch.equal(target.state_dict()["layer3.0.conv1.weight"], source.state_dict()["layer3.0.conv1.weight"])
    assert "fc.weight" in summary and "loaded" in summary


def test_init_inflates_a_2d_resnet_into_the_3d_one(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    source = build_video_model("tsn", 10, 8, TINY).state_dict()
    path = tmp_path / "resnet.safetensors"
    save_file({k: v.contiguous() for k, v in source.items()}, str(path))
    target = build_video_model("r3d", 10, 8, TINY)
    load_init(target, path)
    kernel = target.state_dict()["layer2.0.conv1.0.weight"]
    assert torch.allclose(kernel.sum(2), source["layer2.0.conv1.weight"], atol=1e-6)  # repeated over time / 3


def test_init_refuses_pickled_objects_and_foreign_weights(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"network": torch.nn.Linear(2, 2)}, path)  # a pickled module, not a state dict
    with pytest.raises(ConfigError, match=r"weights-only|no state dict|none of its"):
        load_init(build_video_model("tsn", 2, 8, TINY), path)


def test_unknown_options_and_depths_fail_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="depth 7"):
        build_video_model("tsm", 2, 8, {"depth": 7})
    with pytest.raises(ConfigError, match="its options are"):
        build_video_model("r3d", 2, 8, {"kernel": 3})
    with pytest.raises(ConfigError, match="at least 2 frames"):
        build_video_model("tsm", 2, 1, {})


def mmaction2_layout(state: dict[str, torch.Tensor], shift: bool) -> dict[str, torch.Tensor]:
    """torchvision's ResNet names as mmaction2's TSN / TSM (`shift`) recognizers store them."""
    import re

    rules = [
        (r"^conv1\.weight$", "conv1.conv.weight"),
        (r"^bn1\.", "conv1.bn."),
        (
            r"^(layer\d\.\d+)\.conv1\.",
            r"\1.conv1.conv.net." if shift else r"\1.conv1.conv.",
        ),  # TSM shifts the first conv
        (r"^(layer\d\.\d+)\.conv([23])\.", r"\1.conv\2.conv."),
        (r"^(layer\d\.\d+)\.bn(\d)\.", r"\1.conv\2.bn."),
        (r"\.downsample\.0\.", ".downsample.conv."),
        (r"\.downsample\.1\.", ".downsample.bn."),
    ]
    stored = {}
    for key, value in state.items():
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        stored["cls_head.fc_cls." + key[3:] if key.startswith("fc.") else "backbone." + key] = value
    return stored


@pytest.mark.parametrize(("model", "shift"), [("tsn", False), ("tsm", True)])
def test_init_reads_an_mmaction2_checkpoint(model: str, shift: bool, tmp_path: Path) -> None:
    """A checkpoint as mmaction2 saves it ({'meta', 'state_dict'}, `backbone.` ConvModule names,
    TSM's `.net` wrapper, `cls_head.fc_cls`) starts TSN/TSM, and by inflation R3D."""
    source = build_video_model("tsn", 3, 8, TINY).state_dict()
    stored = mmaction2_layout(source, shift)
    assert {
        "backbone.conv1.conv.weight",
        "backbone.conv1.bn.running_mean",
        "backbone.layer2.0.downsample.conv.weight",
        "backbone.layer2.0.downsample.bn.weight",
        "backbone.layer1.0.conv2.bn.bias",
        "cls_head.fc_cls.weight",
    } <= set(stored)
    assert (
        "backbone.layer1.0.conv1.conv.net.weight" in stored
    ) == shift and "backbone.layer1.0.conv2.conv.weight" in stored
    path = tmp_path / "mmaction2.pth"
    torch.save({"meta": {"mmaction2_version": "1.2.0"}, "state_dict": stored}, path)
    target = build_video_model(model, 3, 8, TINY)
    summary = load_init(target, path)
    assert "kept initial values" not in summary
    assert all(torch.equal(target.state_dict()[key], value) for key, value in source.items())
    inflated = build_video_model("r3d", 3, 8, TINY)
    load_init(inflated, path)
    assert torch.allclose(
        inflated.state_dict()["layer2.0.conv1.0.weight"].sum(2), source["layer2.0.conv1.weight"], atol=1e-6
    )


def test_one_registry_holds_sequence_and_clip_networks_tagged_by_their_input_medium():
    from actrec.config import TrainConfig
    from actrec.errors import ConfigError
    from actrec.models import MODELS, model_names
    from actrec.models.video import make_video_config

    clips, frames = set(model_names("video")), set(model_names("frames"))
    assert clips == {"tsn", "tsm", "r3d", "slowfast", "x3d"} and {"gru", "minirocket", "stgcn"} <= frames
    assert clips | frames == set(MODELS) and not clips & frames
    with pytest.raises(ConfigError, match="unknown model 'tsm'; 'tsm' reads video, not frames; choose one of: auto"):
        TrainConfig(model="tsm").check()
    with pytest.raises(
        ConfigError, match=r"unknown clip model 'i3d'; i3d is r3d -o conv=inflated .*; choose one of: r3d"
    ):
        make_video_config("i3d", None)
