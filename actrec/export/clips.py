"""Clip models to ONNX, checked against PyTorch.

The graph takes `clips [B, 3, T, S, S]` float32 (normalised RGB, as `ClipDataset` serves them) and
returns `logits [B, C]` and `probabilities [B, C]` (softmax, columns in `label_names` order), as
the sequence graphs do. Metadata props (JSON values) carry the label names and how to build a
clip from a video: RGB frames resized to `short_side`, `frames` picked by `sampling` (`stride`
apart when dense), the centre `size x size` crop, scaled to [0, 1] and normalised by `mean`/`std`
per channel. README's "Clip models in ONNX" gives the NumPy reference of those steps (tested to
reproduce `VideoRecognizer.predict_proba` through onnxruntime). Frame sampling and resizing
depend on the video's length and size, so they stay outside the fixed-shape graph; a motion
input (`motion=diff`) is a step of the network, so it is inside the graph and the input stays RGB.
Optical flow (`motion=flow`) is OpenCV's, which no graph holds: the clip then carries flow
pictures (`pictures` prop: which of `rgb`, `flow` are stacked along the channels, 3 each;
`flow` prop: how they are computed, `data/clip_flow.py`), and the README's reference computes them.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actrec.data.clip_flow import FLOW_SCALE
from actrec.data.clip_motion import CHANNELS
from actrec.data.clip_sampling import MEAN, STD
from actrec.errors import ConfigError
from actrec.export.graphs import onnx_session
from actrec.export.onnx import ExportResult
from actrec.io.atomic import atomic_path


class LogitsAndProbabilities(torch.nn.Module):
    """`clips [B, 3 x pictures, T, S, S]` -> (logits, softmax probabilities), both `[B, C]`."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.network(clips)
        return logits, torch.softmax(logits, dim=1)


def clip_onnx_bytes(recognizer: Any) -> bytes:
    import onnx

    # eval() on the wrapper too: the exporter restores the module's mode afterwards, and a new
    # module is in training mode, which would leave the recognizer's BatchNorm layers training
    network = LogitsAndProbabilities(recognizer.network).eval()
    clip = recognizer.clip_config
    example = torch.zeros(1, CHANNELS * len(clip.sources), clip.frames, clip.size, clip.size)
    buffer = io.BytesIO()
    torch.onnx.export(
        network,
        (example,),
        buffer,  # type: ignore[arg-type]  # a file-like target is documented; torch's hint names paths only
        input_names=["clips"],
        output_names=["logits", "probabilities"],
        dynamic_axes={"clips": {0: "batch"}, "logits": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    model = onnx.load_from_string(buffer.getvalue())
    metadata = {
        "kind": "clip",
        "model_name": recognizer.model_name,
        "label_names": recognizer.label_names,
        "inputs": ["clips"],
        "outputs": ["logits", "probabilities"],
        "colour_order": "RGB",
        "frames": clip.frames,
        "stride": clip.stride,
        "sampling": clip.sampling,
        "size": clip.size,
        "short_side": clip.stored_side,
        "motion": clip.motion,
        "pictures": clip.sources,
        "flow": {"method": "opencv DIS, preset medium", "scale": FLOW_SCALE} if "flow" in clip.sources else None,
        "mean": MEAN.flatten().tolist(),
        "std": STD.flatten().tolist(),
        "sample_rate_hz": recognizer.sample_rate_hz,
        "window_frames": recognizer.window_frames,
    }
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    return model.SerializeToString()


def export_clip_onnx(recognizer: Any, path: str | os.PathLike, data: Any = None, seed: int = 0) -> ExportResult:
    """Write `recognizer` (a VideoRecognizer) as ONNX and compare its probabilities with the
    recognizer's (`proba_from_clips`) on random clips and, when `data` (a ClipList) is given, on
    up to 8 of its clips; the logits output is checked against the network's as well."""
    if not getattr(recognizer.network, "capabilities", None) or not recognizer.network.capabilities.onnx:
        raise ConfigError(f"clip model '{recognizer.model_name}' does not export to ONNX")
    model_bytes = clip_onnx_bytes(recognizer)
    session = onnx_session(model_bytes)
    clip = recognizer.clip_config
    generator = torch.Generator().manual_seed(seed)
    random_clips = torch.randn(3, CHANNELS * len(clip.sources), clip.frames, clip.size, clip.size, generator=generator)
    random_diff = _diff(session, recognizer, random_clips)
    real_diff = None
    if data is not None:
        subset = data.subset(np.arange(min(8, data.n_samples)))
        usable, _ = recognizer.prepare(subset)
        dataset = recognizer.clip_dataset(usable, train=False, test_clips=1, test_crops=1)
        real_diff = _diff(session, recognizer, torch.stack([dataset[i][0] for i in range(len(dataset))]))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(model_bytes)
    return ExportResult(Path(path), "clip", random_diff, real_diff, reference="torch logits and probabilities")


def _diff(session: Any, recognizer: Any, clips: torch.Tensor) -> float:
    """The largest |onnx - torch| over both outputs."""
    with torch.inference_mode():
        logits = recognizer.network(clips).numpy()
    got_logits, got_proba = session.run(["logits", "probabilities"], {"clips": clips.numpy()})
    return float(max(np.abs(got_logits - logits).max(), np.abs(got_proba - recognizer.proba_from_clips(clips)).max()))
