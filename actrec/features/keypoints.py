"""Skeleton-aware feature steps: joint subsets, gap filling, normalisation, bones, velocities, angles.

Every step reads its joints from a `Schema` once, when built, and saves the resolved indices plus
the schema name as JSON, so a saved model needs no schema file to reproduce its features.

Shapes: the steps keep the joint-major layout `[N, T, J, C]` (channels appended per joint) until
`joint_angles` (adds per-frame angles, flattens to `[N, T, J*C + A]`) or `mask_missing` (NaN -> 0,
flattens to `[N, T, F]`). `keypoint_steps` builds the default chain.

Streaming: each output row depends only on its own frame and at most `context_frames` earlier raw
frames, so transforming the last `context_frames + 1` frames gives the same last row as the full
window. Gap filling is where this needs care; see `FillGaps`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from actrec.errors import ConfigError
from actrec.features.pipeline import FeaturePipeline, Step, valid_mask
from actrec.skeletons.schema import Schema, get_schema


@contextlib.contextmanager
def _quiet_nan_warnings() -> Iterator[None]:
    """Silence numpy's 'mean of empty slice' warnings: all-NaN frames are expected here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _coordinate_dims(X: np.ndarray, coordinate_dims: int) -> int:
    return min(coordinate_dims, X.shape[-1])


def _check_joints(X: np.ndarray, n_joints: int, step: str, schema: str) -> None:
    if X.ndim != 4 or X.shape[2] != n_joints:
        shape = "x".join(map(str, X.shape[2:])) if X.ndim == 4 else f"{X.shape[-1]} flat features"
        raise ConfigError(
            f"{step}: data has {shape} per frame but the pipeline expects [{n_joints} joints, channels] "
            f"of schema '{schema}'; give keypoints in that schema's layout"
        )


def _check_indices(X: np.ndarray, indices: Iterable[int], step: str, schema: str) -> None:
    """ConfigError (not an IndexError deep in numpy) when X has fewer joints than the step uses."""
    highest = max(indices, default=-1)
    if X.ndim != 4 or X.shape[2] <= highest:
        got = f"{X.shape[2]} joints" if X.ndim == 4 else f"{X.shape[-1]} flat features"
        raise ConfigError(
            f"{step}: data has {got} per frame but schema '{schema}' uses joint {highest}; "
            "give keypoints in that schema's layout"
        )


class SelectJoints(Step):
    """`[N, T, J, C] -> [N, T, J', C]`: keep the joints of some groups or names (e.g. 137 -> 47)."""

    name = "select_joints"

    def __init__(self, index: Sequence[int], n_joints_in: int, schema: str = "") -> None:
        self.index = [int(i) for i in index]
        self.n_joints_in = int(n_joints_in)
        self.schema = schema

    @classmethod
    def from_schema(cls, schema: Schema, groups_or_names: str | Iterable[str | int]) -> tuple[SelectJoints, Schema]:
        """The step and the subset schema that later steps must use."""
        sub, index = schema.subset(groups_or_names)
        return cls(index.tolist(), schema.n_joints, schema.name), sub

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        _check_joints(X, self.n_joints_in, self.name, self.schema)
        return X[:, :, self.index]

    def get_state(self) -> dict[str, Any]:
        return {"index": self.index, "n_joints_in": self.n_joints_in, "schema": self.schema}


class FillGaps(Step):
    """Fill short runs of missing joints; leave long runs NaN (masked later).

    A joint is missing on a frame when any of its coordinates is NaN. With `method="linear"`
    (default) an interior gap of at most `max_gap` frames is linearly interpolated between the
    frames around it. A gap still open at a sample's last frame (the live edge when streaming,
    where no future frame exists) holds the last seen value for up to `max_gap` frames. Gaps with
    no earlier observation and longer gaps stay NaN. This makes the last row causal, so streaming
    on the last `context_frames + 1 = max_gap + 1` frames gives the same last row as the full
    window. Earlier rows may differ from what the stream showed live when a gap later closes;
    `method="hold"` (forward-fill up to `max_gap` frames everywhere) makes every row causal.
    """

    name = "fill_gaps"

    def __init__(self, max_gap: int = 5, method: str = "linear", coordinate_dims: int = 2, schema: str = "") -> None:
        if method not in ("linear", "hold"):
            raise ConfigError(f"fill_gaps method '{method}' is unknown; use 'linear' or 'hold'")
        if int(max_gap) < 0:
            raise ConfigError(f"fill_gaps max_gap is {max_gap}; use 0 (no filling) or more frames")
        self.max_gap = int(max_gap)
        self.method = method
        self.coordinate_dims = int(coordinate_dims)
        self.schema = schema

    @property
    def context_frames(self) -> int:  # type: ignore[override]
        return self.max_gap

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self.max_gap == 0:
            return X
        n_steps = X.shape[1]
        dims = _coordinate_dims(X, self.coordinate_dims)
        valid = valid_mask(X, lengths)[:, :, None]
        observed = np.isfinite(X[..., :dims]).all(-1) & valid  # [N, T, J]
        missing = ~observed & valid
        if not missing.any():
            return X
        t = np.arange(n_steps)[None, :, None]
        prev = np.maximum.accumulate(np.where(observed, t, -1), axis=1)
        nxt = np.minimum.accumulate(np.where(observed, t, n_steps)[:, ::-1], axis=1)[:, ::-1]
        has_prev = prev >= 0
        interior = missing & has_prev & (nxt < n_steps)
        held = missing & has_prev & (t - prev <= self.max_gap)
        if self.method == "linear":
            interp = interior & (nxt - prev - 1 <= self.max_gap)
            held &= ~interior
        else:
            interp = np.zeros_like(interior)
        sample, frame, joint = np.nonzero(held | interp)
        before = X[sample, prev[sample, frame, joint], joint]  # [K, C]
        after = X[sample, np.minimum(nxt[sample, frame, joint], n_steps - 1), joint]
        span = np.maximum(nxt[sample, frame, joint] - prev[sample, frame, joint], 1)
        weight = ((frame - prev[sample, frame, joint]) / span)[:, None]
        linear = interp[sample, frame, joint][:, None]
        out = X.copy()
        out[sample, frame, joint] = np.where(linear, before + (after - before) * weight, before)
        return out

    def get_state(self) -> dict[str, Any]:
        return {
            "max_gap": self.max_gap,
            "method": self.method,
            "coordinate_dims": self.coordinate_dims,
            "schema": self.schema,
        }


class CentreScale(Step):
    """Per frame: subtract the centre (mean of the schema's `centre` joints) and divide by the body
    length (the schema's `scale_bone`), on coordinate channels only.

    Robust to missing joints, frame by frame (so streaming matches): the centre falls back to the
    mean of all detected joints; the body length to the mirrored scale bone, then to the pose's
    bounding-box diagonal times the median bone/diagonal ratio seen in training.
    """

    name = "centre_scale"

    def __init__(
        self,
        centre: Sequence[int],
        scale_bone: Sequence[int],
        mirror_scale_bone: Sequence[int] | None = None,
        coordinate_dims: int = 2,
        diagonal_ratio: float = 1.0,
        schema: str = "",
    ) -> None:
        self.centre = [int(i) for i in centre]
        self.scale_bone = [int(i) for i in scale_bone]
        self.mirror_scale_bone = None if mirror_scale_bone is None else [int(i) for i in mirror_scale_bone]
        self.coordinate_dims = int(coordinate_dims)
        self.diagonal_ratio = float(diagonal_ratio)
        self.schema = schema

    @classmethod
    def from_schema(cls, schema: Schema) -> CentreScale:
        perm = schema.mirror_permutation()
        a, b = schema.scale_bone
        mirrored = [int(perm[a]), int(perm[b])]
        return cls(
            centre=schema.centre,
            scale_bone=[a, b],
            mirror_scale_bone=None if mirrored == [a, b] else mirrored,
            coordinate_dims=schema.coordinate_dims,
            schema=schema.name,
        )

    def _check(self, X: np.ndarray) -> None:
        _check_indices(X, [*self.centre, *self.scale_bone, *(self.mirror_scale_bone or [])], self.name, self.schema)

    def _bone_length(self, coords: np.ndarray, bone: Sequence[int]) -> np.ndarray:
        return np.linalg.norm(coords[:, :, bone[0]] - coords[:, :, bone[1]], axis=-1)

    def _diagonal(self, coords: np.ndarray) -> np.ndarray:
        """`[N, T]` bounding-box diagonal of the detected joints (NaN where none is)."""
        finite = np.isfinite(coords).all(-1, keepdims=True)
        extent = np.where(finite, coords, -np.inf).max(axis=2) - np.where(finite, coords, np.inf).min(axis=2)
        diagonal = np.linalg.norm(extent, axis=-1)
        return np.where(np.isfinite(diagonal), diagonal, np.nan)

    def fit(self, X: np.ndarray, lengths: np.ndarray) -> CentreScale:
        self._check(X)
        coords = X[..., : _coordinate_dims(X, self.coordinate_dims)]
        bone = self._bone_length(coords, self.scale_bone)
        diagonal = self._diagonal(coords)
        ok = valid_mask(X, lengths) & np.isfinite(bone) & (bone > 1e-6) & np.isfinite(diagonal) & (diagonal > 1e-6)
        if ok.any():
            self.diagonal_ratio = float(np.median(bone[ok] / diagonal[ok]))
        return self

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        self._check(X)
        dims = _coordinate_dims(X, self.coordinate_dims)
        coords = X[..., :dims].astype(np.float64)
        with _quiet_nan_warnings():
            origin = np.nanmean(coords[:, :, self.centre], axis=2)
            lost = ~np.isfinite(origin).all(-1)
            origin[lost] = np.nanmean(coords[lost], axis=1)
        length = self._bone_length(coords, self.scale_bone)
        usable = np.isfinite(length) & (length > 1e-6)
        if self.mirror_scale_bone is not None:
            length = np.where(usable, length, self._bone_length(coords, self.mirror_scale_bone))
            usable = np.isfinite(length) & (length > 1e-6)
        length[~usable] = self._diagonal(coords[~usable][:, None])[:, 0] * self.diagonal_ratio
        length = np.where(np.isfinite(length) & (length > 1e-6), length, np.nan)
        out = X.astype(np.float32, copy=True)
        out[..., :dims] = (coords - origin[:, :, None]) / length[:, :, None, None]
        return out

    def get_state(self) -> dict[str, Any]:
        return {
            "centre": self.centre,
            "scale_bone": self.scale_bone,
            "mirror_scale_bone": self.mirror_scale_bone,
            "coordinate_dims": self.coordinate_dims,
            "diagonal_ratio": self.diagonal_ratio,
            "schema": self.schema,
        }


class Velocity(Step):
    """`[N, T, J, C] -> [N, T, J, C + d]`: appends each joint's coordinate change since the previous
    frame (0 on a sample's first frame; NaN if either frame misses the joint)."""

    name = "velocity"
    context_frames = 1

    def __init__(self, coordinate_dims: int = 2, schema: str = "") -> None:
        self.coordinate_dims = int(coordinate_dims)
        self.schema = schema

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        coords = X[..., : _coordinate_dims(X, self.coordinate_dims)]
        velocity = np.zeros_like(coords)
        velocity[:, 1:] = coords[:, 1:] - coords[:, :-1]
        return np.concatenate([X, velocity], axis=-1)

    def out_channels(self, channels: int) -> int:
        return channels + min(self.coordinate_dims, channels)

    def get_state(self) -> dict[str, Any]:
        return {"coordinate_dims": self.coordinate_dims, "schema": self.schema}


class BoneVectors(Step):
    """`[N, T, J, C] -> [N, T, J, C + d]`: appends each joint's bone vector (joint minus its parent
    along the schema's bones; 0 for roots), keeping the joint-major layout graph models use."""

    name = "bone_vectors"

    def __init__(self, parents: Sequence[int], coordinate_dims: int = 2, schema: str = "") -> None:
        self.parents = [int(p) for p in parents]
        self.coordinate_dims = int(coordinate_dims)
        self.schema = schema

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        _check_joints(X, len(self.parents), self.name, self.schema)
        coords = X[..., : _coordinate_dims(X, self.coordinate_dims)]
        parents = np.asarray(self.parents)
        bones = coords - coords[:, :, np.where(parents >= 0, parents, np.arange(len(parents)))]
        return np.concatenate([X, bones], axis=-1)

    def out_channels(self, channels: int) -> int:
        return channels + min(self.coordinate_dims, channels)

    def get_state(self) -> dict[str, Any]:
        return {"parents": self.parents, "coordinate_dims": self.coordinate_dims, "schema": self.schema}


class JointAngles(Step):
    """`[N, T, J, C] -> [N, T, J*C + A]`: flattens the joints and appends, per (a, b, c) of the
    schema's `angle_triples`, the angle at b between b->a and b->c, in radians in [0, pi]
    (pi = straight). For `mediapipe_hand` A = 15."""

    name = "joint_angles"

    def __init__(self, triples: Sequence[Sequence[int]], coordinate_dims: int = 2, schema: str = "") -> None:
        self.triples = [[int(i) for i in triple] for triple in triples]
        self.coordinate_dims = int(coordinate_dims)
        self.schema = schema

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        _check_indices(X, [i for triple in self.triples for i in triple], self.name, self.schema)
        angles = joint_angles(X[..., : _coordinate_dims(X, self.coordinate_dims)], self.triples)
        return np.concatenate([X.reshape(X.shape[0], X.shape[1], -1), angles], axis=-1)

    def get_state(self) -> dict[str, Any]:
        return {"triples": self.triples, "coordinate_dims": self.coordinate_dims, "schema": self.schema}


def joint_angles(coords: np.ndarray, triples: Sequence[Sequence[int]]) -> np.ndarray:
    """`[..., J, d]` coordinates -> `[..., A]` angles at b between b->a and b->c (radians, [0, pi])."""
    if not triples:
        return np.zeros((*coords.shape[:-2], 0), dtype=coords.dtype)
    a, b, c = (np.asarray(column) for column in zip(*triples))
    u = coords[..., a, :] - coords[..., b, :]
    v = coords[..., c, :] - coords[..., b, :]
    dot = (u * v).sum(-1)
    if coords.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    return np.arctan2(cross, dot).astype(coords.dtype)


class MaskMissing(Step):
    """Last keypoint step: NaN -> 0, flattened to `[N, T, F]`, with an optional presence feature.

    presence="frame": one extra feature per frame, 1 where any value is finite;
    presence="joint" (4D input only): one extra channel per joint, 1 where the joint's x is known,
    keeping the joint-major layout; presence="none": nothing added.
    """

    name = "mask_missing"

    def __init__(self, presence: str = "frame") -> None:
        if presence not in ("frame", "joint", "none"):
            raise ConfigError(f"mask_missing presence '{presence}' is unknown; use frame, joint or none")
        self.presence = presence

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self.presence == "joint":
            if X.ndim != 4:
                raise ConfigError("mask_missing presence='joint' needs [N, T, J, C] input; put it before joint_angles")
            detected = np.isfinite(X[..., :1]).astype(X.dtype)  # channel 0 is x: the joint was seen
            X = np.concatenate([X, detected], axis=-1)
        flat = X.reshape(X.shape[0], X.shape[1], -1)
        finite = np.isfinite(flat)
        out = np.where(finite, flat, 0.0).astype(np.float32)
        if self.presence == "frame":
            out = np.concatenate([out, finite.any(-1, keepdims=True).astype(np.float32)], axis=-1)
        return out

    def out_channels(self, channels: int) -> int:
        return channels + (self.presence == "joint")

    def get_state(self) -> dict[str, Any]:
        return {"presence": self.presence}


def keypoint_steps(
    schema_name: str | Schema,
    graph: bool = False,
    joints: str | Sequence[str | int] | None = None,
    max_gap: int = 5,
    fill: str = "linear",
    centre_scale: bool = True,
    velocity: bool = True,
    bones: bool = False,
    angles: bool | None = None,
    presence: str | None = None,
) -> list[Step]:
    """The default keypoint feature chain, `[N, T, J, C]` raw keypoints -> `[N, T, F]`, without the
    final `standardize` (the Recognizer appends it).

    joints: groups or joint names to keep (e.g. `["body", "left_hand_core", "right_hand_core"]`).
    graph: keep a joint-major `[N, T, J*C']` layout for graph models (coordinates, extra channels,
        velocities, optional bones and a per-joint presence channel; no angles), see `graph_layout`.
    angles: per-frame joint angles from the schema's bones (default on unless `graph`).
    presence: "frame" | "joint" | "none" (default "joint" for graph, else "frame").
    """
    schema = get_schema(schema_name)
    if graph and angles:
        raise ConfigError("joint angles are per-frame, not per-joint, so graph=True cannot use them; drop angles")
    steps: list[Step] = []
    if joints is not None:
        select, schema = SelectJoints.from_schema(schema, joints)
        steps.append(select)
    dims = schema.coordinate_dims
    steps.append(FillGaps(max_gap=max_gap, method=fill, coordinate_dims=dims, schema=schema.name))
    if centre_scale:
        steps.append(CentreScale.from_schema(schema))
    if velocity:
        steps.append(Velocity(coordinate_dims=dims, schema=schema.name))
    if bones:
        steps.append(BoneVectors(schema.parents().tolist(), coordinate_dims=dims, schema=schema.name))
    if (not graph) if angles is None else angles:
        steps.append(JointAngles(schema.angle_triples(), coordinate_dims=dims, schema=schema.name))
    steps.append(MaskMissing(presence or ("joint" if graph else "frame")))
    return steps


def pipeline_schema(schema_name: str | Schema, steps: Sequence[Step] | FeaturePipeline) -> Schema:
    """The schema the pipeline's output joints follow (the subset after `select_joints`, if any),
    whose bones a graph model turns into its adjacency."""
    schema = get_schema(schema_name)
    for step in _steps(steps):
        if isinstance(step, SelectJoints):
            schema, _ = schema.subset(step.index)
    return schema


def graph_channels(steps: Sequence[Step] | FeaturePipeline, in_channels: int) -> int:
    """C' per joint of a `graph=True` chain fed `[N, T, J, in_channels]`: the model reshapes the
    `[B, T, J*C']` features to `[B, C', T, J]`."""
    channels = in_channels
    for step in _steps(steps):
        if isinstance(step, JointAngles):
            raise ConfigError("this feature chain adds joint angles, so it has no per-joint layout for a graph model")
        channels = step.out_channels(channels) if hasattr(step, "out_channels") else channels
    return channels


def _steps(steps: Sequence[Step] | FeaturePipeline) -> Sequence[Step]:
    return steps.steps if isinstance(steps, FeaturePipeline) else steps
