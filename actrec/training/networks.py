"""What a sequence network is built from: the feature steps its data needs, and the network
itself from the training options, the fitted pipeline and the window seen in training. The fit
strategies build through it, and a model file is rebuilt the same way when loaded."""

from __future__ import annotations

from typing import Any

from torch import nn

from actrec.data.dataset import SequenceDataset
from actrec.features.pipeline import FeaturePipeline, Flatten, Standardize, Step
from actrec.models import Capabilities, build_model
from actrec.models.rocket import LEVEL_KERNELS, REACH


def default_steps(dataset: SequenceDataset, joints: list[str], streams: list[str], graph: bool) -> list[Step]:
    """Keypoints with a skeleton: its keypoint features (or the skeleton streams' channels), in
    joint-major layout for a graph network; keypoints without one: flattened; always standardised
    last (fitted on the training split)."""
    steps: list[Step] = []
    if dataset.is_keypoints:
        if dataset.schema:
            from actrec.features.keypoints import keypoint_steps
            from actrec.features.streams import stream_steps

            options: dict[str, Any] = {"joints": joints} if joints else {}
            if streams:
                steps = stream_steps(dataset.schema, **options)
            else:
                steps = keypoint_steps(dataset.schema, graph=graph, **options)
        else:
            steps = [Flatten()]
    return steps + [Standardize()]


def complete_options(
    options: dict[str, Any], capabilities: Capabilities, window_length: int, pipeline: FeaturePipeline | None
) -> dict[str, Any]:
    """The model options with what the data fixes filled in: the steps of a `pooling=all` head,
    and a kernel model's input length (the pipeline's context frames are never read,
    `actrec.models.rocket`), left padding, level kernels and reach."""
    options = dict(options)
    if options.get("pooling") == "all" and not options.get("steps"):
        options["steps"] = window_length
    if capabilities.closed_form and not options.get("input_length"):
        assert pipeline is not None
        options["skip_steps"] = pipeline.context_frames
        options["input_length"] = max(1, window_length - options["skip_steps"])
        options["left_pad"] = True  # short windows read as zeros before their first frame, as a stream warming up
        options.setdefault("level_kernels", LEVEL_KERNELS)  # kernels that see a channel's level
        options.setdefault("reach", REACH)  # no dilation pools fewer outputs than half the window
    return options


def build_network(
    model: str,
    options: dict[str, Any],
    streams: list[str],
    n_features: int,
    n_classes: int,
    pipeline: FeaturePipeline | None,
    graph_schema: Any,
) -> nn.Module:
    """The network `model` with completed `options`; with skeleton streams, one per stream
    reading its channels of the pipeline's layout (`models/streams.py`)."""
    if streams:
        from actrec.features.streams import stream_channels
        from actrec.models.streams import MultiStreamConfig, MultiStreamNet

        assert pipeline is not None
        config = MultiStreamConfig(model, options, streams, stream_channels(pipeline, streams))
        return MultiStreamNet(n_features, n_classes, config, graph_schema)
    return build_model(model, n_features, n_classes, options, graph_schema)
