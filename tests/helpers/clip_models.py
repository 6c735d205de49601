"""A tiny clip model saved as a RUN folder without training (imported as `tests.helpers.clip_models`), for
tests of what consumers (serve, info, export, stream) do with a clip model file: random weights
give every class some probability, which is all those tests compare."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from actrec.data.synthetic_clips import render_clip, write_video
from actrec.models.video import build_video_model
from actrec.recognizers.clip import VideoRecognizer

README = Path(__file__).resolve().parents[2] / "README.md"
LABELS = ["left", "right", "up"]
TINY_CLIP = {"size": 24, "frames": 8, "stride": 2, "jitter": 0.0}


def save_tiny_clip_model(folder: Path, model: str = "tsn", options: dict | None = None) -> Path:
    """An untrained 3-class clip model (`model`, width 8) saved in `folder`; returns `folder`."""
    options = options or {"width": 8, "depth": 10}
    recognizer = VideoRecognizer(model, model_options=options, clip=dict(TINY_CLIP))
    recognizer.label_names = list(LABELS)
    recognizer.window_frames, recognizer.sample_rate_hz = 16, 10.0
    recognizer.network = build_video_model(model, len(LABELS), TINY_CLIP["frames"], options).eval()
    folder.mkdir(parents=True, exist_ok=True)
    recognizer.save(folder)
    return folder


def write_session_video(
    path: Path, labels: tuple[str, ...] = ("left", "right"), frames_each: int = 16, size: int = 32, seed: int = 0
) -> Path:
    """An mp4 of back-to-back generated clips of `labels` at 10 fps; returns `path`."""
    rng = np.random.default_rng(seed)
    write_video(path, np.concatenate([render_clip(label, frames_each, size, rng) for label in labels]), 10.0)
    return path


def readme_clip_reference() -> dict:
    """README's NumPy + OpenCV reference for a clip ONNX file's input, executed as written: its
    names (`clip_probabilities(onnx_path, video_path)`, `clip_input`, ...)."""
    block = re.search(r"<!-- clip-onnx-reference -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README lost the clip ONNX reference block"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    return namespace
