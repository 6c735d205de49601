"""Fitted, saved feature transforms.

A pipeline is fitted on the training split only and saved inside the model as plain JSON, so
`predict`, streaming and export reproduce exactly the features the network was trained on.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from actrec.errors import ConfigError, ModelFileError

STEPS: dict[str, type[Step]] = {}


class Step:
    """One transform `[N, T, ...] -> [N, T, ...]` with state that can be saved as JSON.

    `context_frames` says how many earlier frames one output frame depends on (0: per-frame,
    1: velocity); streaming feeds the last `context_frames + 1` raw frames and keeps the last row.
    """

    name: ClassVar[str] = ""
    context_frames: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            STEPS[cls.name] = cls

    def fit(self, X: np.ndarray, lengths: np.ndarray) -> Step:
        return self

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_state(self) -> dict[str, Any]:
        """Options and fitted values, JSON-able (lists, numbers, strings)."""
        return {}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Step:
        return cls(**state)


def valid_mask(X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """bool `[N, T]`, True on steps before each sample's length."""
    return np.arange(X.shape[1])[None, :] < np.asarray(lengths)[:, None]


class Flatten(Step):
    """`[N, T, J, C] -> [N, T, J*C]`: the layout sequence networks take."""

    name = "flatten"

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return X.reshape(X.shape[0], X.shape[1], -1)


class Standardize(Step):
    """Per-feature zero mean, unit variance over the valid steps of the training data.

    Padding stays 0 after the transform, so masked steps carry no signal.
    """

    name = "standardize"
    FIT_CHUNK = 2**22  # float64 values per chunk of fit (32 MiB)

    def __init__(self, mean: list[float] | None = None, std: list[float] | None = None) -> None:
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)

    def fit(self, X: np.ndarray, lengths: np.ndarray) -> Standardize:
        """NaN-aware moments over valid steps, in float64, `FIT_CHUNK` values at a time merged by
        Chan et al.'s update: a float64 copy of a million windows would be larger than the data.
        Data within one chunk gets exactly np.nanmean / np.nanstd."""
        flat = X.reshape(X.shape[0], X.shape[1], -1)
        per_sample = max(1, flat.shape[1] * flat.shape[2])
        count = np.zeros(flat.shape[2])
        mean, squares = np.zeros(flat.shape[2]), np.zeros(flat.shape[2])
        chunk = max(1, self.FIT_CHUNK // per_sample)
        for start in range(0, flat.shape[0], chunk):
            part = flat[start : start + chunk]
            values = part[valid_mask(part, lengths[start : start + chunk])].astype(np.float64)
            n = (~np.isnan(values)).sum(0)
            if not n.any():
                continue
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column in this chunk
                part_mean = np.nanmean(values, axis=0)
                part_squares = np.nanvar(values, axis=0) * n
            part_mean, part_squares = np.nan_to_num(part_mean), np.nan_to_num(part_squares)
            total = count + n
            share = np.divide(n, total, out=np.zeros_like(total), where=total > 0)
            delta = part_mean - mean
            mean = mean + delta * share
            squares = squares + part_squares + delta**2 * count * share
            count = total
        std = np.sqrt(np.divide(squares, count, out=np.zeros_like(squares), where=count > 0))
        self.mean = mean.astype(np.float32)
        self.std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        return self

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self.mean is None or self.std is None:
            raise ConfigError("standardize was used before it was fitted; call fit on training data first")
        flat = X.reshape(X.shape[0], X.shape[1], -1)
        if flat.shape[-1] != self.mean.shape[0]:
            raise ConfigError(
                f"data has {flat.shape[-1]} features per step but the model was fitted on "
                f"{self.mean.shape[0]}; give the same feature columns as in training"
            )
        out = (flat - self.mean) / self.std
        out[~valid_mask(X, lengths)] = 0.0
        return out.astype(np.float32)

    def get_state(self) -> dict[str, Any]:
        return {
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }


class FeaturePipeline:
    """Steps applied in order; fitted once on training data, then frozen and saved."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps

    @property
    def context_frames(self) -> int:
        """Earlier raw frames one output frame depends on, summed over the steps."""
        return sum(step.context_frames for step in self.steps)

    def fit(self, X: np.ndarray, lengths: np.ndarray) -> FeaturePipeline:
        """Fit each step on the output of the ones before; the last step's output is not
        computed (a closed-form kernel fit transforms its input a batch at a time instead)."""
        for index, step in enumerate(self.steps):
            step.fit(X, lengths)
            if index < len(self.steps) - 1:
                X = step.transform(X, lengths)
        return self

    def transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        for step in self.steps:
            X = step.transform(X, lengths)
        return np.ascontiguousarray(X, dtype=np.float32)

    def fit_transform(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        for step in self.steps:
            X = step.fit(X, lengths).transform(X, lengths)
        return np.ascontiguousarray(X, dtype=np.float32)

    def get_state(self) -> list[dict[str, Any]]:
        return [{"name": step.name, "state": step.get_state()} for step in self.steps]

    @classmethod
    def from_state(cls, state: list[dict[str, Any]]) -> FeaturePipeline:
        steps = []
        for entry in state:
            step_class = STEPS.get(entry.get("name", ""))
            if step_class is None:
                raise ModelFileError(
                    f"model uses feature step '{entry.get('name')}' which this actrec does not know; "
                    "upgrade actrec to the version that saved the model"
                )
            steps.append(step_class.from_state(entry.get("state", {})))
        return cls(steps)
