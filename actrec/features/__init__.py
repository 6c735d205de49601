"""Fitted feature transforms; importing this package registers every step in `STEPS`."""

from actrec.features import keypoints, modalities  # noqa: F401  registers the keypoint steps
from actrec.features.pipeline import STEPS, FeaturePipeline, Flatten, Standardize, Step

__all__ = ["STEPS", "FeaturePipeline", "Flatten", "Standardize", "Step"]
