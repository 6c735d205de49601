"""ONNX export of the clip models matches PyTorch: every registered clip network that declares
`onnx=True` exports, and one that does not is refused in one line, before any tracing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

from actrec.errors import ConfigError
from actrec.export.clips import export_clip_onnx
from actrec.models import model_names
from actrec.models.video import build_video_model, clip_capabilities
from actrec.recognizers.clip import VideoRecognizer

# small options for each registered clip network; one registered without an entry fails below
TINY = {
    "r3d": {"width": 8, "depth": 10},
    "slowfast": {"width": 8, "depth": 10, "beta_inv": 4},
    "tsm": {"width": 8, "depth": 10},
    "tsn": {"width": 8, "depth": 10},
    "x3d": {"width": 4, "depths": [1, 1], "head_width": 16},
}
VARIANTS = [(model, TINY.get(model, {})) for model in model_names("video")] + [
    ("r3d", {"width": 8, "depth": 10, "conv": "r2plus1d"})
]


def tiny_recognizer(model: str, options: dict) -> VideoRecognizer:
    recognizer = VideoRecognizer(model, model_options=options, clip={"size": 32, "frames": 8})
    recognizer.label_names = ["a", "b", "c"]
    recognizer.network = build_video_model(model, 3, 8, options).eval()
    return recognizer


@pytest.mark.parametrize(("model", "options"), VARIANTS, ids=[f"{model}-{i}" for i, (model, _) in enumerate(VARIANTS)])
def test_onnx_logits_match_torch(model: str, options: dict, tmp_path: Path) -> None:
    assert model in TINY, f"clip model '{model}' is registered but has no tiny options in this test"
    recognizer = tiny_recognizer(model, options)
    if not clip_capabilities(model).onnx:
        with pytest.raises(ConfigError, match="does not export to ONNX"):
            export_clip_onnx(recognizer, tmp_path / "model.onnx")
        return
    result = export_clip_onnx(recognizer, tmp_path / "model.onnx")
    assert result.path.is_file() and result.max_abs_diff_random < 1e-4


def test_a_clip_model_declaring_no_onnx_is_refused_before_tracing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recognizer = tiny_recognizer("tsn", TINY["tsn"])
    refused = dataclasses.replace(clip_capabilities("tsn"), onnx=False)
    monkeypatch.setattr(type(recognizer.network), "capabilities", refused)
    monkeypatch.setattr(
        torch.onnx, "export", lambda *args, **kwargs: pytest.fail("traced a model declaring onnx=False")
    )
    with pytest.raises(ConfigError) as refusal:
        export_clip_onnx(recognizer, tmp_path / "model.onnx")
    assert str(refusal.value) == "clip model 'tsn' does not export to ONNX"
    assert not (tmp_path / "model.onnx").exists()
