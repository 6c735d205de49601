"""The package layers of docs/ARCHITECTURE.md point one way, and importing actrec changes nothing
global. Imports are read from the source (also those inside functions), so a lazy import that
climbs back up a layer is caught as well."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "actrec"

# folder -> modules it must never import (directly or lazily): the layers above it
FORBIDDEN = {
    "io": tuple(f"actrec.{layer}" for layer in (
        "data", "skeletons", "features", "models", "training", "evaluation", "experiments", "stream", "serve", "export", "video",
    )),
    "skeletons": tuple(f"actrec.{layer}" for layer in ("data", "features", "models", "training", "evaluation", "experiments", "stream", "serve", "video")),
    "data": tuple(f"actrec.{layer}" for layer in (
        "features", "models", "training", "evaluation", "experiments", "stream", "serve", "export", "video", "recognizer", "run", "cli",
    )),
    "models": ("actrec.training", "actrec.recognizer", "actrec.run", "actrec.experiments", "actrec.stream", "actrec.cli"),
    "evaluation": ("actrec.recognizer", "actrec.run", "actrec.experiments", "actrec.training", "actrec.cli"),
    "training": ("actrec.recognizer", "actrec.run", "actrec.experiments", "actrec.cli"),
    "experiments": ("actrec.cli", "actrec.serve"),
    "export": ("actrec.stream", "actrec.serve", "actrec.experiments", "actrec.cli"),
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(folder: str):
    offences = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            if name.startswith(FORBIDDEN[folder]):
                offences.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert not offences, "\n".join(offences)


def test_no_module_uses_pyplot_whose_state_is_global():
    users = [str(path.relative_to(PACKAGE.parent)) for path in sorted(PACKAGE.rglob("*.py")) if "matplotlib.pyplot" in imported_modules(path)]
    assert not users


IMPORT_EVERYTHING = """
import matplotlib
matplotlib.use("svg")
import actrec.cli, actrec.run, actrec.experiments.compare, actrec.experiments.sweep, actrec.evaluation.report
import sys
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""


def test_importing_actrec_leaves_the_users_matplotlib_backend_alone():
    result = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["svg", "False"]


def test_io_returns_arrays_and_data_builds_datasets():
    """A dataset (a class with `subset`: SequenceDataset, ClipList) or label encoding in io would
    be io building datasets again."""
    offences = []
    for path in sorted((PACKAGE / "io").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef) and any(isinstance(item, ast.FunctionDef) and item.name == "subset" for item in node.body):
                offences.append(f"{path.name}: class {node.name} is a dataset")
            if isinstance(node, ast.FunctionDef) and node.name == "encode_labels":
                offences.append(f"{path.name}: encode_labels")
    assert not offences
