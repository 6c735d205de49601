"""Clip models to ONNX, checked against PyTorch.

The graph takes `clips [B, 3, T, S, S]` float32 (normalised RGB, as `ClipDataset` serves them) and
returns `logits [B, C]`; metadata props (JSON values) carry the label names and how to build a
clip (frames, stride, sampling, size, mean/std), so onnxruntime alone can drive the file.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actrec.errors import ConfigError
from actrec.export.graphs import onnx_session
from actrec.export.onnx import ExportResult
from actrec.io.atomic import atomic_path
from actrec.video.sampling import MEAN, STD


def clip_onnx_bytes(recognizer: Any) -> bytes:
    import onnx

    network = recognizer.network.eval()
    clip = recognizer.clip
    example = torch.zeros(1, 3, clip.frames, clip.size, clip.size)
    buffer = io.BytesIO()
    torch.onnx.export(network, (example,), buffer, input_names=["clips"], output_names=["logits"],
                      dynamic_axes={"clips": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    metadata = {
        "kind": "clip", "model_name": recognizer.model_name, "label_names": recognizer.label_names,
        "frames": clip.frames, "stride": clip.stride, "sampling": clip.sampling, "size": clip.size,
        "short_side": clip.stored_side, "mean": MEAN.flatten().tolist(), "std": STD.flatten().tolist(),
        "sample_rate_hz": recognizer.sample_rate_hz, "window_frames": recognizer.window_frames,
    }
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    return model.SerializeToString()


def export_clip_onnx(recognizer: Any, path: str | os.PathLike, data: Any = None, seed: int = 0) -> ExportResult:
    """Write `recognizer` (a VideoRecognizer) as ONNX and compare logits with PyTorch on random
    clips and, when `data` (a ClipList) is given, on up to 8 of its clips."""
    if not getattr(recognizer.network, "capabilities", None) or not recognizer.network.capabilities.onnx:
        raise ConfigError(f"clip model '{recognizer.model_name}' does not export to ONNX")
    model_bytes = clip_onnx_bytes(recognizer)
    session = onnx_session(model_bytes)
    clip = recognizer.clip
    generator = torch.Generator().manual_seed(seed)
    random_clips = torch.randn(3, 3, clip.frames, clip.size, clip.size, generator=generator)
    random_diff = _diff(session, recognizer.network, random_clips)
    real_diff = None
    if data is not None:
        subset = data.subset(np.arange(min(8, data.n_samples)))
        usable, _ = recognizer.prepare(subset)
        dataset = recognizer.clip_dataset(usable, train=False, test_clips=1, test_crops=1)
        real_diff = _diff(session, recognizer.network, torch.stack([dataset[i][0] for i in range(len(dataset))]))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(model_bytes)
    return ExportResult(Path(path), "clip", random_diff, real_diff)


def _diff(session: Any, network: torch.nn.Module, clips: torch.Tensor) -> float:
    with torch.inference_mode():
        expected = network(clips).numpy()
    got = session.run(["logits"], {"clips": clips.numpy()})[0]
    return float(np.abs(got - expected).max())
