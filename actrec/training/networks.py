"""What a sequence network is built from: the feature steps its data needs, and the network
itself from the training options, the fitted pipeline and the window seen in training. The fit
strategies build through it, and a model file is rebuilt the same way when loaded (its shapes
checked before any memory is taken, its weights loaded with one-line errors)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actrec.data.dataset import SequenceDataset
from actrec.errors import ModelFileError, first_line
from actrec.features.pipeline import FeaturePipeline, Flatten, Standardize, Step
from actrec.models import Capabilities, build_model
from actrec.models.rocket import REACH, level_kernels
from actrec.training.feature_store import TransformedBatches, slices


def default_steps(dataset: SequenceDataset, joints: list[str], modalities: list[str], graph: bool) -> list[Step]:
    """Keypoints with a skeleton: its keypoint features (or the skeleton modalities' channels), in
    joint-major layout for a graph network; keypoints without one: flattened; always standardised
    last (fitted on the training split)."""
    steps: list[Step] = []
    if dataset.is_keypoints:
        if dataset.schema:
            from actrec.features.keypoints import keypoint_steps
            from actrec.features.modalities import modality_steps

            options: dict[str, Any] = {"joints": joints} if joints else {}
            if modalities:
                steps = modality_steps(dataset.schema, **options)
            else:
                steps = keypoint_steps(dataset.schema, graph=graph, **options)
        else:
            steps = [Flatten()]
    return steps + [Standardize()]


def complete_options(
    options: dict[str, Any],
    capabilities: Capabilities,
    window_length: int,
    pipeline: FeaturePipeline | None,
    n_features: int,
) -> dict[str, Any]:
    """The model options with what the data fixes filled in: the steps of a `pooling=all` head,
    and a kernel model's input length (the pipeline's context frames are never read,
    `actrec.models.rocket`), left padding, level kernels, reach and the fine input grid."""
    options = dict(options)
    if options.get("pooling") == "all" and not options.get("steps"):
        options["steps"] = window_length
    if capabilities.closed_form and not options.get("input_length"):
        assert pipeline is not None
        options["skip_steps"] = pipeline.context_frames
        options["input_length"] = max(1, window_length - options["skip_steps"])
        options["left_pad"] = True  # short windows read as zeros before their first frame, as a stream warming up
        options.setdefault("level_kernels", level_kernels(n_features))  # kernels that see a channel's level
        options.setdefault("reach", REACH)  # no dilation pools fewer outputs than half the window
        options.setdefault("fine_grid", True)  # the finest input grid with exact outputs
    return options


def build_network(
    model: str,
    options: dict[str, Any],
    modalities: list[str],
    n_features: int,
    n_classes: int,
    pipeline: FeaturePipeline | None,
    graph_schema: Any,
) -> nn.Module:
    """The network `model` with completed `options`; with skeleton modalities, one per modality
    reading its channels of the pipeline's layout (`models/modalities.py`)."""
    if modalities:
        from actrec.features.modalities import modality_channels
        from actrec.models.modalities import ModalityFusion, ModalityFusionConfig

        assert pipeline is not None
        config = ModalityFusionConfig(model, options, modalities, modality_channels(pipeline, modalities))
        return ModalityFusion(n_features, n_classes, config, graph_schema)
    return build_model(model, n_features, n_classes, options, graph_schema)


def network_for_file(build: Callable[[], nn.Module], tensors: dict[str, torch.Tensor], path: Path) -> nn.Module:
    """The network `build` makes from a model file's metadata, once a build on the meta device
    (no memory) has shown its tensors have the file's shapes: an edited config such as
    `hidden_sizes: [200000]` would otherwise allocate hundreds of GB before the mismatch shows.
    Kernel models compute their kernels while being built, which the meta device cannot; they are
    built directly."""
    try:
        with torch.device("meta"):
            planned = {name: tuple(value.shape) for name, value in build().state_dict().items()}
    except (RuntimeError, NotImplementedError):
        planned = None
    given = {name: tuple(value.shape) for name, value in tensors.items()}
    if planned is not None and planned != given:
        name = next(name for name in sorted(planned.keys() | given.keys()) if planned.get(name) != given.get(name))
        raise ModelFileError(
            f"{path}: its config describes a network whose '{name}' has shape {list(planned.get(name, ()))}, but "
            f"the file holds {list(given.get(name, ())) if name in given else 'no such tensor'}; the file was edited or "
            "damaged; re-save it with actrec"
        )
    return build()


def load_weights(network: nn.Module, tensors: dict[str, torch.Tensor], path: Path, saved_version: str) -> None:
    """Load a model file's weights into `network` (then in eval mode), refused in one line when
    they do not fit: a kernel model of actrec 0.1/0.2 (redefined in 0.3), or a damaged file."""
    try:
        network.load_state_dict(tensors)
    except RuntimeError as error:
        first = first_line(error)
        if saved_version.startswith(("0.1.", "0.2.")) and "combination_0" in first:
            raise ModelFileError(
                f"{path}: a kernel model made by actrec {saved_version}; version 0.3 redefined these models "
                "so they stream frame by frame (README: Models); train it again"
            ) from None
        raise ModelFileError(
            f"{path}: weights do not fit the saved model config ({first}); the file is damaged"
        ) from None
    network.eval()


def predict_in_batches(
    network: nn.Module, batches: TransformedBatches, n_classes: int, batch_size: int = 256
) -> np.ndarray:
    """Softmax probabilities float32 `[N, C]` of featurised `batches`, `batch_size` samples at a
    time, so memory stays flat in N."""
    out = np.empty((len(batches.lengths), n_classes), np.float32)
    with torch.inference_mode():
        for index in slices(len(batches.lengths), batch_size):
            x, length = torch.from_numpy(batches.rows(index)), torch.from_numpy(batches.lengths[index])
            out[index] = torch.softmax(network(x, length), dim=1).numpy()
    return out
