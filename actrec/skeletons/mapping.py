"""Map one skeleton's joints onto another's by name.

COCO-17's joints are a subset of MediaPipe pose's 33 under the same names, so a model trained on
COCO keypoints can run on live MediaPipe output without anyone writing an index list.
"""

from __future__ import annotations

import numpy as np

from actrec.skeletons.schema import Schema


def joint_index(source: Schema, target: Schema) -> np.ndarray | None:
    """int `[len(target.joints)]`: where each target joint sits in `source`, or None if any is absent."""
    where = {name: i for i, name in enumerate(source.joints)}
    if not all(name in where for name in target.joints):
        return None
    return np.array([where[name] for name in target.joints], dtype=np.int64)
