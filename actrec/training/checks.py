"""What the recognizer's door checks before any work: data a configuration cannot train on, and
input a fitted model cannot read. Each failure is one line naming the data and what to do."""

from __future__ import annotations

from typing import Any

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.errors import ConfigError, DataError
from actrec.models import Capabilities


def check_training_data(config: Any, capabilities: Capabilities, dataset: SequenceDataset) -> None:
    """Refuse data `config` (a TrainConfig) cannot train on, before any split or fitting: a model
    or augmentation that needs a skeleton given sensor data, unknown joints, NaN features."""
    keypoints = dataset.is_keypoints and bool(dataset.schema)
    shape = "x".join(str(s) for s in dataset.X.shape[2:])
    if capabilities.needs_skeleton and not keypoints:
        raise ConfigError(
            f"model '{config.model}' needs keypoint data with a skeleton schema (X [N, T, J, C] and a schema); "
            f"{dataset.source} has {shape} values per step: choose another model, e.g. auto or inception"
        )
    if config.modalities and not keypoints:
        raise ConfigError(
            f"{dataset.source}: modalities need keypoint data with a skeleton schema (X [N, T, J, C] and schema)"
        )
    if config.joints:
        if not keypoints:
            raise ConfigError(
                f"joints {config.joints} select skeleton joints, but {dataset.source} has {shape} values per step and no skeleton schema; drop --joints"
            )
        from actrec.features.keypoints import SelectJoints
        from actrec.skeletons.schema import get_schema

        SelectJoints.from_schema(get_schema(str(dataset.schema)), config.joints)
    if config.augment:
        from actrec.features.augment import build_augmenter

        build_augmenter(config.augment, dataset.schema if keypoints else None)
    check_values(dataset)


def check_values(dataset: SequenceDataset, trained_schema: str | None = None) -> None:
    """Sensor/feature data must be finite; keypoint NaNs (joints the detector missed) are
    handled by the keypoint steps of a model with a skeleton: the data's own schema, or at
    predict time the model's, so a bare `[N, T, J, C]` array with gaps predicts as well."""
    if not (dataset.is_keypoints and (dataset.schema or trained_schema)):
        dataset.check_finite()


def check_input(dataset: SequenceDataset, frame_shape: tuple[int, ...], trained_schema: str | None) -> None:
    """Refuse data a fitted model cannot featurise: another step shape, non-finite values."""
    shape = tuple(dataset.X.shape[2:])
    if frame_shape and shape != frame_shape:
        raise DataError(
            f"{dataset.source}: each step has shape {list(shape)} but the model was trained on "
            f"{list(frame_shape)}; give the same features (and joints) as in training"
        )
    check_values(dataset, trained_schema)


def check_finite_features(features: np.ndarray, dataset: SequenceDataset) -> np.ndarray:
    """`features` of `dataset`, refused naming the first sample that gives a NaN or inf."""
    if not np.isfinite(features).all():
        sample = int(np.argwhere(~np.isfinite(features))[0][0])
        raise DataError(
            f"{dataset.source}: sample {dataset.sample_id(sample)} gives non-finite features; check it for NaN or inf values"
        )
    return features


def check_length(capabilities: Capabilities, model: str, window_length: int, n_steps: int, source: str) -> None:
    """Refuse, in one line, sequences longer than a fixed-length model takes (`pooling=all`
    lays every step of the training window out in its head): never cut them silently."""
    if not capabilities.fixed_length or n_steps <= window_length:
        return
    w = window_length
    raise DataError(
        f"{source}: sequences of up to {n_steps} steps, but this '{model}' model takes at most {w} "
        f"(its training window, fixed by its options); cut them into {w}-step windows first (actrec dataset build "
        f"--window {w}, or actrec stream), or train with last_steps={w}"
    )
