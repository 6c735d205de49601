"""Optical flow as a motion input (`motion=flow`) and two-stream fusion (`motion=none+flow`):
flow pictures computed once into the frame cache, read by every family, streamed as predicted,
exported with README's OpenCV step before the graph, and fused by validation log-loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.data import clip_prepare as prepare
from actrec.data.clip_flow import FLOW_SCALE, flow_pictures
from actrec.data.clip_sampling import ClipConfig, ClipDataset
from actrec.data.clips import load_clips
from actrec.data.synthetic_clips import render_clip, write_video
from actrec.errors import ConfigError
from actrec.io.clips import FrameCache
from actrec.models import model_names
from actrec.models.video import build_video_model
from actrec.models.video.fusion import ClipFusion
from actrec.recognizers.clip import VideoRecognizer
from actrec.training.averaging import inverse_loss_average
from tests.helpers.clip_data import NEEDS_OPENCV, TINY, TINY_CLIP
from tests.helpers.clip_models import readme_clip_reference
from tests.models.test_clip_motion import FAMILIES

pytest.importorskip("cv2", reason=NEEDS_OPENCV)


def moving_square(frames: int = 6, size: int = 32, step: int = 2) -> np.ndarray:
    """uint8 RGB `[frames, size, size, 3]`: a textured square moving `step` px right per frame on grey."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)
    clip = np.full((frames, size, size, 3), 90, dtype=np.uint8)
    for t in range(frames):
        clip[t, 11:21, 4 + step * t : 14 + step * t] = texture
    return clip


def test_flow_pictures_show_the_motion_and_none_for_the_first_frame() -> None:
    pictures = flow_pictures(moving_square())
    assert pictures.shape == (6, 32, 32, 3) and pictures.dtype == np.uint8
    assert (pictures[0, ..., :2] == 128).all() and (pictures[0, ..., 2] == 0).all()
    inside = np.stack([pictures[t, 13:19, 6 + 2 * t : 12 + 2 * t, :2] for t in range(1, 6)])  # the square's middle
    motion = (inside.astype(float) - 128) / FLOW_SCALE
    assert 1.0 < np.median(motion[..., 0]) < 3.0 and abs(np.median(motion[..., 1])) < 0.5  # 2 px right a frame
    corner = (pictures[1:, :6, 26:, :2].astype(float) - 128) / FLOW_SCALE  # still background, far away
    assert np.abs(corner).max() < 0.5


def test_flow_is_computed_once_into_the_frame_cache(
    motion_clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = load_clips(motion_clips).subset(np.arange(0, 120, 30))
    computed = []

    def counted(frames: np.ndarray) -> np.ndarray:
        computed.append(len(frames))
        return flow_pictures(frames)

    monkeypatch.setattr(prepare, "flow_pictures", counted)
    cache = FrameCache(tmp_path / "cache", 24)
    for _ in range(2):
        usable, bad = prepare.prepare_clips(clips, cache, 8, sources=["rgb", "flow"])
        assert usable.n_samples == 4 and not bad
    assert len(computed) == 4  # the second preparation read them back
    both = prepare.CachedFrames(cache, clips, ["rgb", "flow"])(0)
    assert both.shape[-1] == 6
    assert np.array_equal(both[..., 3:], flow_pictures(np.asarray(cache.frames(clips.paths[0]))))


def test_a_flipped_training_clip_mirrors_its_horizontal_motion_and_flow_is_not_colour_jittered() -> None:
    pictures = flow_pictures(moving_square())
    config = {
        "frames": 6,
        "stride": 1,
        "sampling": "dense",
        "size": 32,
        "min_scale": 1.0,
        "jitter": 0.5,
        "motion": "flow",
    }

    def dataset(flip: bool) -> ClipDataset:
        return ClipDataset(lambda i: pictures, 1, None, ClipConfig(**config | {"flip": flip}), "dense", True, seed=3)

    plain, flipping = dataset(False), dataset(True)
    seen = set()
    for epoch in range(8):
        plain.epoch = flipping.epoch = epoch
        x, y = plain[0][0], flipping[0][0]
        if torch.equal(x, y):
            seen.add("kept")
            continue
        # mirrored: vertical motion and speed move; horizontal motion moves and changes sign
        assert torch.allclose(y[1:], x[1:].flip(-1), atol=1e-6)
        no_motion = (128 / 255 - 0.485) / 0.229  # a picture's 128, normalised
        assert torch.allclose(y[0] - no_motion, -(x[0].flip(-1) - no_motion), atol=1.01 / 255 / 0.229)
        seen.add("mirrored")
    assert seen == {"kept", "mirrored"}
    plain.epoch = 0
    untouched = (torch.from_numpy(pictures).permute(3, 0, 1, 2).float() / 255 - 0.485) / 0.229
    assert torch.allclose(plain[0][0][0], untouched[0], atol=1e-5)  # no brightness or contrast on flow


@pytest.mark.parametrize("model", model_names("video"))
def test_every_family_reads_flow_and_fuses_with_rgb(model: str) -> None:
    """A flow network takes 3-channel flow pictures like RGB; a fused one takes RGB and flow
    stacked (6 channels), each member reading its own, and returns log-probabilities."""
    torch.manual_seed(0)
    flow = build_video_model(model, 3, 9, FAMILIES[model], motion="flow").eval()
    fused = build_video_model(model, 3, 9, FAMILIES[model], motion="none+flow").eval()
    assert isinstance(fused, ClipFusion) and len(fused.members) == 2
    x = torch.randn(2, 6, 9, 32, 32)
    with torch.no_grad():
        assert flow(x[:, 3:]).shape == (2, 3)
        out = fused(x)
        members = [torch.softmax(fused.member_logits(i, x), 1) for i in range(2)]
        # the RGB member reads the RGB channels, the flow member the flow ones
        assert torch.allclose(fused.member_logits(0, x), fused.members[0](x[:, :3]))
        assert torch.allclose(fused.member_logits(1, x), fused.members[1](x[:, 3:]))
    assert torch.allclose(out.exp(), 0.5 * members[0] + 0.5 * members[1], atol=1e-5)
    assert "weights" in fused.state_dict()
    with pytest.raises(ConfigError, match="motion 'none\\+optical' is not one of: none, diff, flow"):
        build_video_model(model, 3, 9, FAMILIES[model], motion="none+optical")


def test_fusion_weighs_each_motion_by_its_validation_log_loss(motion_clips: Path, tmp_path: Path) -> None:
    clips = load_clips(motion_clips)
    train, validation = clips.subset(np.arange(0, 120, 3)), clips.subset(np.arange(1, 120, 6))
    recognizer = VideoRecognizer(
        "tsm",
        model_options=TINY,
        clip=TINY_CLIP | {"sampling": "dense", "motion": "none+flow"},
        epochs=2,
        batch_size=4,
    )
    recognizer.fit(train, validation=validation)
    fused = recognizer.network
    assert isinstance(fused, ClipFusion)
    views = recognizer.clip_dataset(validation, train=False, test_clips=1, test_crops=1)
    x = torch.stack([views[i][0] for i in range(len(views))])
    with torch.no_grad():
        probas = [torch.softmax(fused.member_logits(i, x), 1).numpy() for i in range(2)]
    weights = inverse_loss_average(probas, validation.labels, len(recognizer.label_names)).weights
    assert np.allclose(fused.weights.numpy(), weights, atol=1e-6) and not np.allclose(weights, 0.5)
    assert "fused with weights RGB" in recognizer.notes[-1] and "optical flow" in recognizer.notes[-1]
    recognizer.save(tmp_path / "model.actrec")
    again = VideoRecognizer.load(tmp_path / "model.actrec")
    assert np.allclose(again.predict_proba(validation), recognizer.predict_proba(validation), atol=1e-6)


def tiny_model(model: str, motion: str, folder: Path) -> Path:
    """An untrained 3-class clip model reading `motion`, saved in `folder`."""
    options = FAMILIES[model] | {"width": 8}
    recognizer = VideoRecognizer(model, model_options=options, clip=TINY_CLIP | {"motion": motion, "size": 32})
    recognizer.label_names = ["left", "right", "up"]
    recognizer.window_frames, recognizer.sample_rate_hz = (8 - 1) * 2 + 1, 10.0
    torch.manual_seed(1)
    recognizer.network = build_video_model(model, 3, 8, options, motion).eval()
    recognizer.save(folder)
    return folder


def test_a_flow_model_streams_what_it_predicts_on_the_same_frames(tmp_path: Path) -> None:
    """The stream computes each frame's flow as it arrives; its first prediction, on a video as
    long as one window, equals predict_proba on that video (flow from the cache)."""
    from actrec.stream.clips import stream_clips

    recognizer = VideoRecognizer.load(tiny_model("tsm", "none+flow", tmp_path / "run"))
    video = tmp_path / "window.mp4"
    write_video(video, render_clip("right", recognizer.window_frames, 40, np.random.default_rng(4)), 10.0)
    streamed = []
    predict = recognizer.proba_from_clips
    recognizer.proba_from_clips = lambda batch: streamed.append(predict(batch)) or streamed[-1]  # type: ignore[method-assign]
    stream_clips(recognizer, str(video))
    recognizer.proba_from_clips = predict  # type: ignore[method-assign]
    assert len(streamed) == 1
    assert np.abs(streamed[0][0] - recognizer.predict_proba(load_clips(video))[0]).max() < 1e-6


@pytest.mark.parametrize(("model", "motion"), [("tsn", "flow"), ("r3d", "none+flow")])
def test_onnx_with_readme_flow_step_gives_predict_proba(model: str, motion: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    from actrec.export.clips import export_clip_onnx

    recognizer = VideoRecognizer.load(tiny_model(model, motion, tmp_path / "run"))
    result = export_clip_onnx(recognizer, tmp_path / "model.onnx")
    assert result.max_abs_diff_random < 1e-4
    # a wide video (the crop matters) of 21 frames, with motion for the flow to see
    frames = np.concatenate([render_clip("up", 21, 32, np.random.default_rng(3))] * 2, axis=2)
    video = tmp_path / "wide.mp4"
    write_video(video, frames, 10.0)
    labels, proba = readme_clip_reference()["clip_probabilities"](tmp_path / "model.onnx", video)
    expected = recognizer.predict_proba(load_clips(video))[0]
    assert labels == ["left", "right", "up"]
    assert np.abs(proba - expected).max() < 1e-5
