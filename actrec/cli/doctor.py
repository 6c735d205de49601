"""What this installation can do: versions, the optional parts found, and what a missing one
turns off. `actrec doctor` prints it; a bug report should include it."""

from __future__ import annotations

import glob
import importlib.util
import os
import platform
import shutil
from dataclasses import dataclass
from importlib import metadata

import actrec

CORE = ("torch", "lightning", "numpy", "pandas", "scikit-learn", "scipy", "typer", "rich", "safetensors")


@dataclass(frozen=True)
class Part:
    """One optional part: `found` is its version or path, None when missing; `problem` says why
    a found part still cannot work."""

    name: str
    found: str | None
    needed_for: str
    install: str
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.found is not None and self.problem is None


def _module_version(module: str, distribution: str) -> str | None:
    """The installed version, without importing the module (MediaPipe alone takes seconds)."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "installed"


def _program(*names: str, patterns: tuple[str, ...] = ()) -> str | None:
    for name in names:
        if found := shutil.which(name):
            return found
    matches = sorted(match for pattern in patterns for match in glob.glob(pattern))
    return matches[-1] if matches else None


def _mediapipe() -> Part:
    version = _module_version("mediapipe", "mediapipe")
    problem = None
    protobuf = _module_version("google.protobuf", "protobuf") if version else None
    if protobuf and protobuf[0].isdigit() and int(protobuf.split(".")[0]) >= 7:
        problem = f"protobuf {protobuf} breaks MediaPipe 0.10; pip install 'protobuf>=6.31.1,<7'"
    elif version and importlib.util.find_spec("cv2") is None:
        problem = "needs OpenCV, which is missing"
    return Part(
        "MediaPipe",
        version,
        "keypoints from video (actrec extract, actrec stream on a video or camera)",
        "bash scripts/install-video.sh",
        problem,
    )


def optional_parts() -> list[Part]:
    """Every optional part actrec uses, in the order a user meets them."""
    onnx, onnxruntime = _module_version("onnx", "onnx"), _module_version("onnxruntime", "onnxruntime")
    return [
        _mediapipe(),
        Part(
            "OpenCV",
            _module_version("cv2", "opencv-python-headless") or _module_version("cv2", "opencv-python"),
            "reading video files and cameras, annotated video output (--out x.mp4)",
            "bash scripts/install-video.sh",
        ),
        Part(
            "onnxruntime",
            onnxruntime and onnx and f"{onnxruntime} (onnx {onnx})",
            "actrec export (ONNX files) and actrec stream --runtime onnx",
            "pip install 'actrec[export]'",
        ),
        Part(
            "optuna",
            _module_version("optuna", "optuna"),
            "actrec sweep (hyperparameter search)",
            "pip install 'actrec[search]'",
        ),
        Part(
            "psycopg2",
            _module_version("psycopg2", "psycopg2-binary") or _module_version("psycopg2", "psycopg2"),
            "actrec sweep --storage postgresql://... (one study shared by several machines)",
            "pip install 'actrec[postgres]'",
        ),
        Part(
            "cleanlab",
            _module_version("cleanlab", "cleanlab"),
            "actrec audit (ranking suspect labels)",
            "pip install 'actrec[audit]'",
        ),
        Part(
            "aeon",
            _module_version("aeon", "aeon"),
            "bench/accuracy.py (UEA/UCR problems and MiniRocket baselines)",
            "pip install 'actrec[benchmarks]'",
        ),
        Part(
            "Chromium",
            _program("chromium", "chromium-browser", "google-chrome"),
            "only the test that renders report.html in a headless browser",
            "apt-get install chromium",
        ),
        Part(
            "PostgreSQL server",
            _program("pg_ctl", patterns=("/usr/lib/postgresql/*/bin/pg_ctl",)),
            "only the test of a sweep shared through PostgreSQL",
            "apt-get install postgresql",
        ),
    ]


def versions() -> dict[str, str]:
    """actrec, Python and the core libraries, by name."""
    found = {"actrec": actrec.__version__, "python": platform.python_version()}
    for name in CORE:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def compute() -> dict[str, str]:
    """Threads and devices torch will use (what speed figures depend on)."""
    import torch

    return {
        "torch threads": str(torch.get_num_threads()),
        "interop threads": str(torch.get_num_interop_threads()),
        "CPU cores": str(os.cpu_count()),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
        "CUDA": f"{torch.cuda.device_count()} device(s)" if torch.cuda.is_available() else "not available (CPU only)",
    }
