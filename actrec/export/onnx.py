"""ONNX export of a fitted Recognizer, checked against `predict_proba`.

The file is self-sufficient: it takes raw samples and runs the fitted feature steps (gap fill,
centring and scaling, velocities, bones, angles, missing-joint masking, standardisation) and the
network, so onnxruntime and NumPy alone reproduce `Recognizer.predict_proba`:

- keypoint models: `keypoints [B, T, J, C]` float32 (NaN where a joint was not detected),
  `present [B, T, J]` bool (False also marks a joint as not detected), `lengths [B]` int64;
- other models: `features [B, T, F]` float32 raw values, `lengths [B]` int64;
- out: `logits [B, K]` and `probabilities [B, K]` float32, columns in `label_names` order.

Steps after `lengths[b]` are padding and are ignored. Metadata props (JSON values) carry `kind`
("window"), `inputs`, `frame_shape`, `label_names`, `window_length`, `sample_rate_hz`,
`model_name`, `schema` and the fitted feature `pipeline` (for reference; the graph already
applies it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.errors import ConfigError, DataError
from actrec.export.graphs import RawWindowModel, model_metadata, onnx_session, raw_input_names, raw_window_onnx_bytes
from actrec.io.atomic import atomic_path
from actrec.models.registry import network_capabilities


@dataclass
class ExportResult:
    """Where the file went and how far onnxruntime's outputs are from the reference."""

    path: Path
    kind: str  # "window" (raw samples in) or "clip" (video)
    max_abs_diff_random: float
    max_abs_diff_real: float | None  # None when no data was given
    reference: str = "torch logits"  # what the graph's outputs were compared with

    def summary(self) -> str:
        real = "no data given" if self.max_abs_diff_real is None else f"{self.max_abs_diff_real:.2e}"
        return (
            f"{self.path} ({self.kind} graph): max |onnx - {self.reference}| = "
            f"{self.max_abs_diff_random:.2e} on random windows, {real} on real windows"
        )


def export_onnx(recognizer: Any, path: str | os.PathLike, data: Any = None, seed: int = 0) -> ExportResult:
    """Write `recognizer` as a raw-input ONNX graph to `path` and check it against `predict_proba`.

    data: optional raw samples (`[N, T, ...]` array or SequenceDataset) for the check on real
    windows; random windows (with undetected joints, for keypoint models) are always checked.
    """
    if recognizer.network is None or recognizer.pipeline is None:
        raise ConfigError("this Recognizer is not fitted; call fit or Recognizer.load first")
    if not network_capabilities(recognizer.network).onnx:  # checked at the door, before any tracing
        raise ConfigError(f"model '{recognizer.config.model}' does not export to ONNX")
    frame_shape = tuple(int(s) for s in recognizer.frame_shape)
    keypoints = len(frame_shape) == 2
    window_length = int(recognizer.window_length)
    model = RawWindowModel(recognizer.pipeline, recognizer.network.eval(), keypoints)
    metadata = dict(
        model_metadata(recognizer, window_length),
        kind="window",
        inputs=raw_input_names(keypoints),
        frame_shape=list(frame_shape),
        schema=recognizer.schema or None,
        pipeline=recognizer.pipeline.get_state(),
    )
    model_bytes = raw_window_onnx_bytes(model, frame_shape, window_length, metadata)
    session = onnx_session(model_bytes)
    random_diff = _proba_diff(session, recognizer, _random_samples(recognizer, seed))
    real_diff = _proba_diff(session, recognizer, _real_samples(recognizer, data)) if data is not None else None
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(model_bytes)
    return ExportResult(Path(path), "window", random_diff, real_diff, reference="predict_proba")


def onnx_feeds(dataset: SequenceDataset) -> dict[str, np.ndarray]:
    """The graph's inputs for raw samples: NaN keypoints stay NaN, so `present` is all True."""
    feeds: dict[str, np.ndarray] = {"lengths": np.asarray(dataset.lengths, dtype=np.int64)}
    X = np.ascontiguousarray(dataset.X, dtype=np.float32)
    if X.ndim == 4:
        feeds.update(keypoints=X, present=np.ones(X.shape[:3], dtype=bool))
    else:
        feeds["features"] = X
    return feeds


def _proba_diff(session: Any, recognizer: Any, dataset: SequenceDataset) -> float:
    probabilities = session.run(["probabilities"], onnx_feeds(dataset))[0]
    return float(np.abs(probabilities - recognizer.predict_proba(dataset)).max())


def _random_samples(recognizer: Any, seed: int, count: int = 6) -> SequenceDataset:
    """Full and partial random windows; for skeleton models with undetected joints and frames,
    which the graph's gap filling and masking must treat as the NumPy steps do."""
    rng = np.random.default_rng(seed)
    width = int(recognizer.window_length)
    X = rng.normal(size=(count, width, *recognizer.frame_shape)).astype(np.float32)
    lengths = np.maximum(1, np.linspace(width, 1, count).round().astype(np.int64))
    if X.ndim == 4 and recognizer.schema:
        X[rng.random(X.shape[:3]) < 0.2] = np.nan
        X[0, width // 3 : width // 3 + 2] = np.nan
    return SequenceDataset(X=X, lengths=lengths, schema=recognizer.schema or None, source="random windows")


def _real_samples(recognizer: Any, data: Any) -> SequenceDataset:
    """Up to 16 real samples, shaped as in training."""
    from actrec.data.dataset import as_dataset

    dataset = as_dataset(data)
    if dataset.X.shape[2:] != tuple(recognizer.frame_shape):
        raise DataError(
            f"{dataset.source}: steps have shape {list(dataset.X.shape[2:])} but the model takes "
            f"{list(recognizer.frame_shape)}; give data with the training features"
        )
    subset = dataset.subset(np.arange(min(16, len(dataset.X))))
    return replace(subset, schema=subset.schema or recognizer.schema or None)
