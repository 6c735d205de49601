"""The four skeleton modalities (joint, bone and their motions) as channels of one joint-major
layout, for a model fused from one network per modality (`models/modalities.py`).

`modality_steps` is the graph feature chain (`keypoint_steps(graph=True)`) with `SkeletonModalities`
in place of the velocity step, so each joint's channels are

    [coordinates (d), other input channels (e.g. score), joint motion (d), bone (d), bone motion (d), presence]

and `modality_channels` says which of them each modality reads: its own d channels plus the other
input channels and the presence flag (as pyskl keeps the score in every modality). The step was
called `skeleton_streams` before 0.5.0; model files that name it so still load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from actrec.errors import ConfigError
from actrec.features.keypoints import MaskMissing, _check_joints, _coordinate_dims, keypoint_steps, pipeline_schema
from actrec.features.pipeline import STEPS, FeaturePipeline, Step
from actrec.skeletons.schema import Schema


def _motion(values: np.ndarray) -> np.ndarray:
    """Change since the previous frame along axis 1 (0 on the first frame)."""
    motion = np.zeros_like(values)
    motion[:, 1:] = values[:, 1:] - values[:, :-1]
    return motion


class SkeletonModalities(Step):
    """`[N, T, J, C] -> [N, T, J, C + 3d]`: appends joint motion, bone vectors (joint minus its
    parent along the schema's bones; 0 for roots) and bone motion of the d coordinate channels.
    Motion is 0 on a sample's first frame and NaN where either frame misses a joint."""

    name = "skeleton_modalities"
    context_frames = 1

    def __init__(
        self, parents: Sequence[int], coordinate_dims: int = 2, in_channels: int | None = None, schema: str = ""
    ) -> None:
        self.parents = [int(p) for p in parents]
        self.coordinate_dims = int(coordinate_dims)
        self.in_channels = None if in_channels is None else int(in_channels)
        self.schema = schema

    def fit(self, X: np.ndarray, lengths: np.ndarray) -> SkeletonModalities:
        _check_joints(X, len(self.parents), self.name, self.schema)
        self.in_channels = int(X.shape[-1])
        return self

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        _check_joints(X, len(self.parents), self.name, self.schema)
        coords = X[..., : _coordinate_dims(X, self.coordinate_dims)]
        parents = np.asarray(self.parents)
        bones = coords - coords[:, :, np.where(parents >= 0, parents, np.arange(len(parents)))]
        return np.concatenate([X, _motion(coords), bones, _motion(bones)], axis=-1)

    def out_channels(self, channels: int) -> int:
        return channels + 3 * min(self.coordinate_dims, channels)

    def get_state(self) -> dict[str, Any]:
        return {
            "parents": self.parents,
            "coordinate_dims": self.coordinate_dims,
            "in_channels": self.in_channels,
            "schema": self.schema,
        }


# model files saved before 0.5.0 name the step so
STEPS["skeleton_streams"] = SkeletonModalities


def modality_steps(schema: str | Schema, joints: str | Sequence[str | int] | None = None) -> list[Step]:
    """The keypoint chain for modality-fused models, without the final `standardize`."""
    steps = keypoint_steps(schema, graph=True, joints=joints, velocity=False)
    sub = pipeline_schema(schema, steps)
    steps.insert(len(steps) - 1, SkeletonModalities(sub.parents().tolist(), sub.coordinate_dims, schema=sub.name))
    return steps


def modality_channels(pipeline: FeaturePipeline, modalities: Sequence[str]) -> list[list[int]]:
    """Per modality, the indices of its channels among each joint's output channels of `pipeline`
    (fitted, built by `modality_steps`)."""
    found = [step for step in pipeline.steps if isinstance(step, SkeletonModalities)]
    masks = [step for step in pipeline.steps if isinstance(step, MaskMissing)]
    if not found or found[0].in_channels is None or not masks or masks[0].presence != "joint":
        raise ConfigError(
            "skeleton modalities need the fitted feature chain of actrec.features.modalities.modality_steps"
        )
    channels = found[0].in_channels
    dims = min(found[0].coordinate_dims, channels)
    shared = list(range(dims, channels)) + [channels + 3 * dims]  # other input channels, presence
    first = {"joint": 0, "joint_motion": channels, "bone": channels + dims, "bone_motion": channels + 2 * dims}
    return [list(range(first[modality], first[modality] + dims)) + shared for modality in modalities]
