"""Fitted feature transforms; importing this package registers every step in `STEPS`."""

from actrec.features.pipeline import STEPS, FeaturePipeline, Flatten, Standardize, Step
from actrec.features import keypoints, streams  # noqa: F401,E402  registers the keypoint steps

__all__ = ["STEPS", "FeaturePipeline", "Flatten", "Standardize", "Step"]
