"""Motion inputs (`motion=diff`) in every clip family, the `auto` plan sized to the data, and
the small-set regularisation options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.data.clips import load_clips
from actrec.errors import ConfigError
from actrec.models import model_names
from actrec.models.video import build_video_model
from actrec.recognizers.clip import VideoRecognizer
from actrec.recognizers.clip_sizing import FirstVideo, plan_for_clips
from tests.helpers.clip_data import NEEDS_OPENCV, TINY_CLIP

pytest.importorskip("cv2", reason=NEEDS_OPENCV)

FAMILIES = {
    "r3d": {"width": 4, "depth": 10},
    "slowfast": {"width": 8, "depth": 10, "beta_inv": 4, "alpha": 2},
    "tsm": {"width": 4, "depth": 10},
    "tsn": {"width": 4, "depth": 10},
    "x3d": {"width": 4, "depths": [1, 1], "head_width": 16},
}


@pytest.mark.parametrize("model", model_names("video"))
def test_a_still_background_cancels_in_every_family(model: str) -> None:
    """With differences of frames, adding any still image to every frame changes nothing; with
    RGB frames it does."""
    torch.manual_seed(0)
    clips, scene = torch.randn(2, 3, 9, 32, 32), torch.randn(2, 3, 1, 32, 32)
    with torch.no_grad():
        diff = build_video_model(model, 3, 9, FAMILIES[model], motion="diff").eval()
        assert torch.allclose(diff(clips), diff(clips + scene), atol=1e-5)
        rgb = build_video_model(model, 3, 9, FAMILIES[model]).eval()
        assert not torch.allclose(rgb(clips), rgb(clips + scene), atol=1e-3)


def test_differences_keep_torchvision_names_and_need_one_more_frame() -> None:
    assert set(build_video_model("tsm", 3, 8, FAMILIES["tsm"], motion="diff").state_dict()) == set(
        build_video_model("tsm", 3, 8, FAMILIES["tsm"]).state_dict()
    )
    with pytest.raises(ConfigError, match="needs at least 3 frames per clip with motion=diff"):
        build_video_model("tsm", 3, 2, FAMILIES["tsm"], motion="diff")
    with pytest.raises(ConfigError, match="motion 'optical' is not one of: none, diff, flow"):
        _ = VideoRecognizer("tsm", clip={"motion": "optical"}).config  # checked when read (fit reads it first)


@pytest.mark.parametrize("model", model_names("video"))
def test_the_difference_step_is_in_the_onnx_graph(model: str, tmp_path: Path) -> None:
    """The graph takes the sampled RGB frames, as for RGB models, and matches PyTorch."""
    pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    import onnx

    from actrec.export.clips import export_clip_onnx

    recognizer = VideoRecognizer(model, model_options=FAMILIES[model], clip={"size": 32, "frames": 9, "motion": "diff"})
    recognizer.label_names = ["a", "b", "c"]
    recognizer.network = build_video_model(model, 3, 9, FAMILIES[model], motion="diff").eval()
    result = export_clip_onnx(recognizer, tmp_path / "model.onnx")
    assert result.max_abs_diff_random < 1e-4
    graph = onnx.load(str(result.path)).graph
    assert graph.input[0].type.tensor_type.shape.dim[2].dim_value == 9  # frames in; differences inside
    assert any(node.op_type == "Sub" for node in graph.node)


@pytest.mark.parametrize(
    ("n_clips", "video", "width", "size", "stride", "motion"),
    [
        (240, FirstVideo(112, 36), 16, 64, 3, "diff"),
        (30, FirstVideo(24, 16), 16, 24, 1, "diff"),
        (5000, FirstVideo(240, 300), 32, 112, 3, "diff"),
        (50000, None, 64, 112, None, "none"),
    ],
)
def test_auto_sizes_the_model_to_the_clips(
    n_clips: int, video: FirstVideo | None, width: int, size: int, stride: int | None, motion: str
) -> None:
    """Few clips get a narrow network on small frames with differences; more get larger ones;
    frames are never enlarged and 9 frames never loop a short clip."""
    plan = plan_for_clips(n_clips, video)
    assert plan.model_options.get("width", 64) == width and plan.clip["size"] == size and plan.clip["motion"] == motion
    assert plan.clip.get("stride") == stride
    assert f"because {n_clips} clips" in plan.note


def test_auto_resolves_saves_and_reloads_as_the_chosen_model(motion_clips: Path, tmp_path: Path) -> None:
    clips = load_clips(motion_clips)
    clips = clips.subset(np.arange(0, clips.n_samples, 4))
    recognizer = VideoRecognizer(model_options={"width": 4}, clip={"size": 16}, epochs=1, batch_size=4)
    assert recognizer.model_name == "auto"
    recognizer.fit(clips)
    assert (
        recognizer.model_name == "tsm" and recognizer.clip_config.motion == "diff" and recognizer.clip_config.size == 16
    )
    assert recognizer.config.model_options["width"] == 4 and recognizer.config.model_options["depth"] == 10
    assert len(recognizer.notes) == 1 and "kept the options given (size=16, width=4)" in recognizer.notes[0]
    loaded = VideoRecognizer.load(recognizer.save(tmp_path / "model.actrec"))
    assert loaded.model_name == "tsm" and loaded.clip_config.motion == "diff"
    np.testing.assert_allclose(loaded.predict_proba(clips), recognizer.predict_proba(clips), atol=1e-6)


def test_regularisation_options_are_checked_and_change_training(motion_clips: Path) -> None:
    with pytest.raises(ConfigError, match="label_smoothing must be in"):
        _ = VideoRecognizer("tsn", label_smoothing=1.0).config
    clips = load_clips(motion_clips).subset(np.arange(0, 120, 6))
    options = {
        "model_options": {"width": 4, "depth": 10},
        "clip": TINY_CLIP | {"size": 16},
        "epochs": 1,
        "batch_size": 4,
    }
    plain = VideoRecognizer("tsn", **options).fit(clips).history
    smoothed = VideoRecognizer("tsn", label_smoothing=0.2, **options).fit(clips).history
    mixed = VideoRecognizer("tsn", mixup=0.4, **options).fit(clips).history
    again = VideoRecognizer("tsn", mixup=0.4, **options).fit(clips).history
    assert smoothed["train_loss"].iloc[0] != plain["train_loss"].iloc[0] != mixed["train_loss"].iloc[0]
    assert mixed["train_loss"].iloc[0] == again["train_loss"].iloc[0]  # seeded


def test_a_diff_model_streams_the_probabilities_of_predict_proba(tmp_path: Path) -> None:
    """The stream's rolling buffer feeds the same frames to the same network (the difference
    step inside it): its prediction on a whole video equals predict_proba on that file."""
    from actrec.data.synthetic_clips import render_clip, write_video
    from actrec.stream.clips import stream_clips

    clip = TINY_CLIP | {"frames": 9, "motion": "diff"}
    recognizer = VideoRecognizer("tsm", model_options=FAMILIES["tsm"], clip=clip)
    recognizer.label_names, recognizer.window_frames, recognizer.sample_rate_hz = ["left", "right"], 17, 10.0
    recognizer.network = build_video_model("tsm", 2, 9, FAMILIES["tsm"], motion="diff").eval()
    video = tmp_path / "clips" / "left" / "one.mp4"
    write_video(video, render_clip("left", 17, 24, np.random.default_rng(3)), 10.0)
    streamed: list[np.ndarray] = []
    batch_proba = recognizer.proba_from_clips
    recognizer.proba_from_clips = lambda clips: streamed.append(batch_proba(clips)) or streamed[-1]  # type: ignore[method-assign]
    report = stream_clips(recognizer, str(video), hop=1)
    recognizer.proba_from_clips = batch_proba  # type: ignore[method-assign]
    assert report.predictions == 1 and report.frames == 17
    np.testing.assert_allclose(
        streamed[0], recognizer.predict_proba(load_clips(tmp_path / "clips", label_names=["left", "right"])), atol=1e-6
    )
