"""ONNX export with a parity check against PyTorch.

Recurrent models that stream in O(1) (unidirectional GRU/LSTM, last or mean pooling) export the
*bank step* the streaming engine runs: `features [R, F]`, `steps [R, 1]`, `sums`, `h_i` (and
`c_i`) in; `logits [R, C]` and `<state>_out` out (see `actrec.stream.recurrent`). Other models
export the window network: `features [B, T, F]`, `lengths [B]` int64 -> `logits [B, C]`.
Metadata props (JSON values) carry `kind`, `label_names`, `window_length`, `sample_rate_hz` and
the fitted feature `pipeline`, so a runtime with onnxruntime alone can drive the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actrec.errors import ConfigError, DataError
from actrec.io.atomic import atomic_path
from actrec.models.registry import network_capabilities
from actrec.stream.engine import model_metadata
from actrec.stream.features import feature_count
from actrec.stream.recurrent import TorchBankStep, incremental_blocker
from actrec.stream.runtimes import (
    GraphBank,
    bank_onnx_bytes,
    onnx_bank_fn,
    onnx_session,
    window_onnx_bytes,
)
from actrec.stream.windows import trailing_windows


@dataclass
class ExportResult:
    """Where the file went and how far onnxruntime's logits are from PyTorch's."""

    path: Path
    kind: str  # "bank" or "window"
    max_abs_diff_random: float
    max_abs_diff_real: float | None  # None when no data was given

    def summary(self) -> str:
        real = "no data given" if self.max_abs_diff_real is None else f"{self.max_abs_diff_real:.2e}"
        return (f"{self.path} ({self.kind} graph): max |onnx - torch| logits = {self.max_abs_diff_random:.2e} "
                f"on random windows, {real} on real windows")


def export_onnx(recognizer: Any, path: str | os.PathLike, data: Any = None, seed: int = 0) -> ExportResult:
    """Write `recognizer` as ONNX to `path` and check parity with PyTorch.

    data: optional raw samples (`[N, T, ...]` array or SequenceDataset) for the check on real
    windows; random feature windows are always checked.
    """
    network = recognizer.network.eval()
    if not network_capabilities(network).onnx:  # checked at the door, before any tracing
        raise ConfigError(f"model '{recognizer.config.model}' does not export to ONNX")
    window_length = int(recognizer.window_length)
    n_features = feature_count(recognizer.pipeline)
    kind = "bank" if incremental_blocker(network) is None else "window"
    metadata = dict(model_metadata(recognizer, window_length), kind=kind, pipeline=recognizer.pipeline.get_state())
    step = TorchBankStep(network) if kind == "bank" else None
    if step is not None:
        model_bytes = bank_onnx_bytes(step, n_features, window_length, metadata)
    else:
        model_bytes = window_onnx_bytes(network, n_features, window_length, metadata)
    session = onnx_session(model_bytes)
    rng = np.random.default_rng(seed)
    random_sequences = [rng.normal(size=(2 * window_length + 3, n_features)).astype(np.float32) for _ in range(3)]
    real_sequences = _real_features(recognizer, data) if data is not None else None
    if step is not None:
        check = lambda sequences: max(_bank_diff(session, step, network, s, window_length) for s in sequences)  # noqa: E731
    else:
        check = lambda sequences: max(_window_diff(session, network, s, window_length) for s in sequences)  # noqa: E731
    random_diff = check(random_sequences)
    real_diff = check(real_sequences) if real_sequences else None
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(model_bytes)
    return ExportResult(Path(path), kind, random_diff, real_diff)


def _real_features(recognizer: Any, data: Any) -> list[np.ndarray]:
    """Feature sequences `[T, F]` of up to 16 real samples."""
    from actrec.recognizer import as_dataset

    dataset = as_dataset(data)
    if dataset.X.shape[2:] != tuple(recognizer.frame_shape):
        raise DataError(f"{dataset.source}: steps have shape {list(dataset.X.shape[2:])} but the model takes "
                        f"{list(recognizer.frame_shape)}; give data with the training features")
    subset = dataset.subset(np.arange(min(16, len(dataset.X))))
    features = np.nan_to_num(recognizer.pipeline.transform(subset.X, subset.lengths))
    return [features[i, : subset.lengths[i]] for i in range(len(features))]


def _torch_logits(network: torch.nn.Module, windows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return network(torch.from_numpy(windows), torch.from_numpy(lengths)).numpy()


def _bank_diff(session: Any, step: TorchBankStep, network: torch.nn.Module, sequence: np.ndarray, width: int) -> float:
    """Drive the ONNX bank over `sequence`; compare each frame's logits with the torch network
    on the window ending there."""
    bank = GraphBank(step, width, onnx_bank_fn(session, step))
    streamed = np.stack([bank.step(frame[None]) for frame in sequence])
    return float(np.abs(streamed - _torch_logits(network, *trailing_windows(sequence, width))).max())


def _window_diff(session: Any, network: torch.nn.Module, sequence: np.ndarray, width: int) -> float:
    windows, lengths = trailing_windows(sequence, width)
    onnx_logits = session.run(["logits"], {"features": windows, "lengths": lengths})[0]
    return float(np.abs(onnx_logits - _torch_logits(network, windows, lengths)).max())
