"""ONNX export of the clip models matches PyTorch."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

from actrec.models.video import build_video_model  # noqa: E402
from actrec.video.export import export_clip_onnx  # noqa: E402
from actrec.video.recognizer import VideoRecognizer  # noqa: E402


@pytest.mark.parametrize(
    ("model", "options"),
    [("tsn", {"width": 8, "depth": 10}), ("tsm", {"width": 8, "depth": 10}), ("r3d", {"width": 8, "depth": 10}),
     ("r3d", {"width": 8, "depth": 10, "conv": "r2plus1d"}), ("slowfast", {"width": 8, "depth": 10, "beta_inv": 4}),
     ("x3d", {"width": 4, "depths": [1, 1], "head_width": 16})],
)
def test_onnx_logits_match_torch(model: str, options: dict, tmp_path: Path) -> None:
    recognizer = VideoRecognizer(model, model_options=options, clip={"size": 32, "frames": 8})
    recognizer.label_names = ["a", "b", "c"]
    recognizer.network = build_video_model(model, 3, 8, options).eval()
    result = export_clip_onnx(recognizer, tmp_path / "model.onnx")
    assert result.path.is_file() and result.max_abs_diff_random < 1e-4
