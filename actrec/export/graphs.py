"""ONNX graph builders and the onnxruntime session, shared by `export_onnx` and streaming.

Three graphs:
- `raw_window_onnx_bytes`: the self-sufficient file `actrec export` writes: raw input (keypoints
  with a presence mask, or sensor values) through the fitted feature steps and the network to
  `logits` and `probabilities` (see `RawWindowModel`).
- `window_onnx_bytes`: the network alone on feature windows (streaming's onnxruntime runtime,
  which computes the features itself, frame by frame).
- `bank_onnx_bytes`: one step of a recurrent model's state bank (streaming, O(1) per frame).
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import torch
from torch import nn

from actrec.errors import ConfigError
from actrec.features.pipeline import FeaturePipeline
from actrec.features.torch_steps import TorchPipeline

OPSET = 17


def model_metadata(recognizer: Any, window_length: int) -> dict:
    """What a runtime outside actrec needs to drive an exported graph."""
    return {
        "label_names": list(recognizer.label_names),
        "window_length": window_length,
        "sample_rate_hz": recognizer.sample_rate_hz,
        "model_name": getattr(recognizer, "model_name", None),
    }


class RawWindowModel(nn.Module):
    """Raw samples to class probabilities, the graph form of `Recognizer.predict_proba`.

    Keypoint models: `keypoints [B, T, J, C]` float32 (NaN where a joint was not detected),
    `present [B, T, J]` bool (False marks a joint as not detected, whatever its values),
    `lengths [B]` int64. Other models: `features [B, T, F]` float32 raw values, `lengths`.
    Out: `logits [B, K]` and `probabilities [B, K]` (softmax, `label_names` order).
    """

    def __init__(self, pipeline: FeaturePipeline, network: nn.Module, keypoints: bool) -> None:
        super().__init__()
        self.features = TorchPipeline(pipeline)
        self.network = network
        self.keypoints = keypoints

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.keypoints:
            x, present, lengths = inputs
            x = torch.where(present[..., None], x, torch.full_like(x, float("nan")))
        else:
            x, lengths = inputs
        logits = self.network(self.features(x, lengths), lengths)
        return logits, torch.softmax(logits, dim=1)


def raw_input_names(keypoints: bool) -> list[str]:
    return ["keypoints", "present", "lengths"] if keypoints else ["features", "lengths"]


def raw_window_onnx_bytes(
    model: RawWindowModel, frame_shape: tuple[int, ...], window_length: int, metadata: dict
) -> bytes:
    """`RawWindowModel` as ONNX; batch and time are dynamic axes."""
    x = torch.zeros(1, window_length, *frame_shape)
    lengths = torch.full((1,), window_length, dtype=torch.long)
    names = raw_input_names(model.keypoints)
    example = (x, torch.ones(x.shape[:3], dtype=torch.bool), lengths) if model.keypoints else (x, lengths)
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "time"} for name in names}
    axes["lengths"] = {0: "batch"}
    axes.update({name: {0: "batch"} for name in ("logits", "probabilities")})
    return onnx_bytes(model, example, names, ["logits", "probabilities"], axes, metadata)


def window_onnx_bytes(network: nn.Module, n_features: int, window_length: int, metadata: dict) -> bytes:
    """The window model as ONNX: `features [B, T, F]`, `lengths [B]` int64 -> `logits [B, C]`."""
    example = (torch.zeros(1, window_length, n_features), torch.full((1,), window_length, dtype=torch.long))
    return onnx_bytes(
        network,
        example,
        ["features", "lengths"],
        ["logits"],
        {"features": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "logits": {0: "batch"}},
        metadata,
    )


def bank_onnx_bytes(step: Any, n_features: int, window_length: int, metadata: dict) -> bytes:
    """One state-bank step (an `actrec.stream.recurrent.TorchBankStep`: `.cells`, `.lstm`,
    `.state_names`) as ONNX; inputs/outputs as in its `forward`, outputs of the states named
    `<input>_out`; `features` may have one row, shared by every window."""
    rows = window_length
    sizes = [cell.hidden_size for cell in step.cells]
    states = [torch.zeros(rows, size) for size in sizes] * (2 if step.lstm else 1)
    example = (torch.zeros(rows, n_features), torch.ones(rows, 1), torch.zeros(rows, sizes[-1]), *states)
    inputs = ["features", "steps", "sums", *step.state_names]
    outputs = ["logits", "sums_out", *(f"{name}_out" for name in step.state_names)]
    axes = {name: {0: "rows"} for name in inputs + outputs}
    axes["features"] = {0: "feature_rows"}  # 1 (broadcast to every row) or rows
    return onnx_bytes(step, example, inputs, outputs, axes, metadata)


def onnx_bytes(
    module: nn.Module, example: tuple, inputs: list[str], outputs: list[str], axes: dict, metadata: dict
) -> bytes:
    """Trace `module` on `example` into an ONNX model; `metadata` values go in as JSON props."""
    import onnx  # the export extra; imported here so numpy/torch streaming never needs it

    buffer = io.BytesIO()
    module.eval()
    with warnings.catch_warnings():
        # Joint and channel counts read as Python ints are constants of the graph, as intended;
        # the exporter's notes on its own passes say nothing the parity check would not catch.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
        torch.onnx.export(
            module,
            example,
            buffer,  # type: ignore[arg-type]  # a file-like target is documented; torch's hint names paths only
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    return model.SerializeToString()


def onnx_session(model_bytes: bytes, threads: int = 1):  # -> onnxruntime.InferenceSession
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("runtime 'onnx' needs onnxruntime: pip install 'actrec[export]'") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
