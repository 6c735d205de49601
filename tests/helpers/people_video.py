"""OpenCV's vtest.avi and the models the people pipeline runs on it (MediaPipe's BlazePose through
LiteRT): tests that need them skip in one line naming what is missing, instead of failing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
MISSING = [name for name in ("cv2", "mediapipe", "ai_edge_litert") if importlib.util.find_spec(name) is None]
needs_models = pytest.mark.skipif(
    bool(MISSING), reason=f"missing {', '.join(MISSING)}; scripts/install-video.sh installs them"
)
needs_video = pytest.mark.skipif(
    bool(MISSING) or not VTEST.is_file(),
    reason=f"missing {', '.join(MISSING + ([] if VTEST.is_file() else [str(VTEST)]))}; scripts/install-video.sh installs them",
)
