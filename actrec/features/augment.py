"""Training-only augmentation of raw samples, before the feature pipeline.

Keypoint samples are `[T, J, C]` (coordinates first, NaN where undetected); the skeleton schema
says which joints swap under a mirror and which joints are the body centre. Sensor/feature samples
are `[T, F]`, where only `jitter`, `scale` and `speed` make sense.

Specs are names or dicts with options, e.g. `["mirror", {"name": "rotate", "degrees": 10}]`;
every augmentation also takes `p`, the chance it is applied to a sample.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from actrec.errors import ConfigError
from actrec.skeletons.schema import Schema, get_schema


@dataclass
class _Context:
    """What keypoint augmentations read from the schema."""

    mirror: np.ndarray  # int [J] joint permutation
    centre: list[int]
    coordinate_dims: int


def _centre(x: np.ndarray, context: _Context) -> np.ndarray:
    """`[d]` body centre of a whole sample: mean of the schema's centre joints over all frames
    (all joints if those are never seen; 0 if nothing is)."""
    dims = context.coordinate_dims
    points = x[:, context.centre, :dims].reshape(-1, dims)
    points = points[np.isfinite(points).all(-1)]
    if not len(points):
        points = x[..., :dims].reshape(-1, dims)
        points = points[np.isfinite(points).all(-1)]
    return points.mean(0) if len(points) else np.zeros(dims)


def _body_size(x: np.ndarray, dims: int) -> float:
    """Diagonal of the sample's bounding box (over detected joints), 1.0 when nothing is seen."""
    points = x[..., :dims].reshape(-1, dims)
    points = points[np.isfinite(points).all(-1)]
    if not len(points):
        return 1.0
    size = float(np.linalg.norm(points.max(0) - points.min(0)))
    return size if size > 1e-9 else 1.0


@dataclass
class Augmentation:
    """Base: `apply(x, rng, context) -> x`; `keypoints_only` ones refuse `[T, F]` data."""

    p: float = 1.0
    name: ClassVar[str] = ""
    keypoints_only: ClassVar[bool] = True

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        raise NotImplementedError


@dataclass
class Mirror(Augmentation):
    """Swap left/right joints (schema's mirror pairs) and negate x about the body centre.

    Applied twice it is the identity: the centre is a mean over a left/right-symmetric joint set.
    """

    p: float = 0.5
    name: ClassVar[str] = "mirror"

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        assert context is not None  # keypoints_only: built with the schema
        centre_x = _centre(x, context)[0]
        out = x[:, context.mirror].copy()
        out[..., 0] = 2 * centre_x - out[..., 0]
        return out


@dataclass
class Rotate(Augmentation):
    """Rotate coordinates in the image (x, y) plane about the body centre by up to +-`degrees`;
    keeps every distance between joints."""

    degrees: float = 15.0
    name: ClassVar[str] = "rotate"

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        angle = np.deg2rad(rng.uniform(-self.degrees, self.degrees))
        assert context is not None  # keypoints_only: built with the schema
        centre = _centre(x, context)[:2]
        c, s = np.cos(angle), np.sin(angle)
        out = x.copy()
        dx, dy = x[..., 0] - centre[0], x[..., 1] - centre[1]
        out[..., 0] = centre[0] + c * dx - s * dy
        out[..., 1] = centre[1] + s * dx + c * dy
        return out


@dataclass
class Scale(Augmentation):
    """Multiply by a factor in [low, high]: keypoint coordinates about the body centre (every
    distance scales by the factor), or every feature of `[T, F]` data."""

    low: float = 0.85
    high: float = 1.15
    name: ClassVar[str] = "scale"
    keypoints_only: ClassVar[bool] = False

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        factor = rng.uniform(self.low, self.high)
        if context is None:
            return x * factor
        dims = context.coordinate_dims
        centre = _centre(x, context)
        out = x.copy()
        out[..., :dims] = centre + (x[..., :dims] - centre) * factor
        return out


@dataclass
class Translate(Augmentation):
    """Shift all coordinates by up to `fraction` of the body size per axis (bones unchanged)."""

    fraction: float = 0.1
    name: ClassVar[str] = "translate"

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        assert context is not None  # keypoints_only: built with the schema
        dims = context.coordinate_dims
        offset = rng.uniform(-self.fraction, self.fraction, dims) * _body_size(x, dims)
        out = x.copy()
        out[..., :dims] += offset
        return out


@dataclass
class Jitter(Augmentation):
    """Add Gaussian noise: `sigma` x body size on keypoint coordinates, or `sigma` x each
    feature's standard deviation over the sample for `[T, F]` data. NaN stays NaN."""

    sigma: float = 0.01
    name: ClassVar[str] = "jitter"
    keypoints_only: ClassVar[bool] = False

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        if context is None:
            spread = np.nan_to_num(np.nanstd(x, axis=0))
            return x + rng.normal(0.0, 1.0, x.shape) * self.sigma * spread
        dims = context.coordinate_dims
        out = x.copy()
        out[..., :dims] += rng.normal(0.0, self.sigma * _body_size(x, dims), x[..., :dims].shape)
        return out


@dataclass
class Speed(Augmentation):
    """Play the sample `factor` in [low, high] times faster: linear resampling in time, so the
    length becomes round(T / factor). A value next to a missing frame takes the nearer frame."""

    low: float = 0.8
    high: float = 1.25
    name: ClassVar[str] = "speed"
    keypoints_only: ClassVar[bool] = False

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        return resample(x, rng.uniform(self.low, self.high))


def resample(x: np.ndarray, factor: float) -> np.ndarray:
    """`[T, ...] -> [max(1, round(T / factor)), ...]`, sampling x at times i * factor."""
    n_frames = len(x)
    new_length = max(1, int(round(n_frames / factor)))
    times = np.minimum(np.arange(new_length) * factor, n_frames - 1)
    before = np.floor(times).astype(int)
    after = np.minimum(before + 1, n_frames - 1)
    weight = (times - before).reshape(-1, *([1] * (x.ndim - 1)))
    out = (1 - weight) * x[before] + weight * x[after]
    nearest = np.where(weight < 0.5, x[before], x[after])
    return np.where(np.isfinite(out), out, nearest).astype(x.dtype)


@dataclass
class Dropout(Augmentation):
    """Hide each joint on each frame with chance `rate` (set it to NaN), as a detector would."""

    rate: float = 0.05
    name: ClassVar[str] = "dropout"

    def apply(self, x: np.ndarray, rng: np.random.Generator, context: _Context | None) -> np.ndarray:
        out = x.copy()
        out[rng.random(x.shape[:2]) < self.rate] = np.nan
        return out


AUGMENTATIONS: dict[str, type[Augmentation]] = {
    cls.name: cls for cls in (Mirror, Rotate, Scale, Translate, Jitter, Speed, Dropout)
}


class Augmenter:
    """Applies augmentations in order, each with its chance `p`."""

    def __init__(self, augmentations: list[Augmentation], schema: Schema | None) -> None:
        self.augmentations = augmentations
        self.context = None
        if schema is not None:
            self.context = _Context(schema.mirror_permutation(), list(schema.centre), schema.coordinate_dims)

    def __call__(self, x: np.ndarray, length: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """x: `[T, J, C]` keypoints (or `[T, F]`); only the first `length` steps are used.

        Returns the augmented `[T', ...]` float32 array (no padding) and T'.
        """
        x = np.asarray(x, dtype=np.float32)[:length]
        context = self.context
        if x.ndim == 3 and context is not None:
            if len(context.mirror) != x.shape[1]:
                raise ConfigError(
                    f"augmentation: data has {x.shape[1]} joints but the schema has {len(context.mirror)}; "
                    "augment raw keypoints in the schema's layout"
                )
            context = dataclasses.replace(context, coordinate_dims=min(context.coordinate_dims, x.shape[2]))
        elif x.ndim != 2:
            raise ConfigError(f"augmentation: expected [T, J, C] keypoints with a schema or [T, F]; got {x.shape}")
        else:
            context = None
        for augmentation in self.augmentations:
            if augmentation.keypoints_only and context is None:
                raise ConfigError(f"augmentation '{augmentation.name}' needs keypoint data [T, J, C] with a schema")
            if rng.random() < augmentation.p:
                x = augmentation.apply(x, rng, context)
        return x.astype(np.float32, copy=False), len(x)


def parse_augmentations(specs: list[str | dict[str, Any]]) -> list[Augmentation]:
    """Augmentations from names or `{"name": ..., options}` dicts, checked without any data (so
    `TrainConfig.check` can refuse a typo before the data is read): unknown names or options and
    chances outside [0, 1] raise ConfigError."""
    augmentations = []
    for spec in specs:
        options = dict(spec) if isinstance(spec, dict) else {"name": spec}
        name = str(options.pop("name", ""))
        if name not in AUGMENTATIONS:
            raise ConfigError(f"unknown augmentation '{name}'; choose from {', '.join(AUGMENTATIONS)}")
        cls = AUGMENTATIONS[name]
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"augmentation '{name}' has no option '{unknown[0]}'; options: {', '.join(sorted(known))}"
            )
        augmentation = cls(**options)
        if not 0 <= augmentation.p <= 1:
            raise ConfigError(f"augmentation '{name}' p is {augmentation.p}; use a chance in [0, 1]")
        augmentations.append(augmentation)
    return augmentations


def build_augmenter(specs: list[str | dict[str, Any]], schema_name: str | Schema | None) -> Augmenter | None:
    """An `Augmenter` from names or `{"name": ..., options}` dicts; None when `specs` is empty.

    Unknown names or options, or keypoint-only augmentations without a schema, raise ConfigError.
    """
    if not specs:
        return None
    schema = get_schema(schema_name) if schema_name else None
    augmentations = parse_augmentations(specs)
    for augmentation in augmentations:
        if augmentation.keypoints_only and schema is None:
            raise ConfigError(
                f"augmentation '{augmentation.name}' needs keypoint data with a skeleton schema; use jitter, scale or speed"
            )
    return Augmenter(augmentations, schema)
