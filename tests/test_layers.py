"""The package layers of docs/ARCHITECTURE.md point one way, and importing actrec changes nothing
global. The layer order is read from the doc's drawing (its first code block), so the doc is the
one source: every folder and root module of the package must be placed there, and a module may
import only from its own entry and the entries above it. Imports are read from the source (also
those inside functions, and relative ones), so a lazy import that climbs back up is caught too."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "actrec"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def drawn_layers(text: str) -> list[str]:
    """The entries of the doc's drawing, top first, as dotted names under `actrec` ("io",
    "models.video", "errors"). An entry is a line of the first code block that starts at the
    margin; its first word names a folder or module (`actrec/io/`, `actrec/config.py`), or its first
    words a comma-separated group of them drawn as one layer (`runs/, jobs/`)."""
    match = re.search(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"{ARCHITECTURE.name} has no code block drawing the layers"
    layers = []
    for line in match.group(1).splitlines():
        if not line.strip() or line[0].isspace():
            continue
        words = line.split()
        heads = [words[0]]
        while heads[-1].endswith(",") and len(words) > len(heads):
            heads.append(words[len(heads)])
        for token in heads:
            token = token.strip(",`").removeprefix("actrec/").removesuffix("/").removesuffix(".py")
            layers.append(token.replace("/", "."))
    return layers


LAYERS = drawn_layers(ARCHITECTURE.read_text())
RANK = {name: rank for rank, name in enumerate(LAYERS)}


def layer_of(module: str) -> str | None:
    """The doc entry a dotted module under `actrec` belongs to: the longest entry that is the
    module or one of its packages (`actrec.models.video.tsm` -> "models.video"); None for the
    package root itself (`actrec`, `actrec.__version__`)."""
    parts = module.split(".")[1:]
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in RANK:
            return ".".join(parts[:end])
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").is_file()


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, absolute; `from a import b` is `a.b` when b is a module of actrec."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names if is_module(f"{base}.{alias.name}")}
            names.update(submodules or {base})
    return names


def package_parts() -> list[str]:
    """Every top-level folder holding Python code and every root module (not `__init__`/`__main__`)."""
    parts = [path.name for path in PACKAGE.iterdir() if path.is_dir() and any(path.rglob("*.py"))]
    parts += [path.stem for path in PACKAGE.glob("*.py") if path.stem not in ("__init__", "__main__")]
    return sorted(parts)


def test_the_drawing_parses_into_the_package_layers():
    assert LAYERS[0] == "errors" and LAYERS[-1] == "cli", LAYERS
    assert len(LAYERS) == len(set(LAYERS)), "an entry is drawn twice"


def test_every_folder_and_root_module_is_placed_in_the_drawing():
    missing = [part for part in package_parts() if part not in RANK]
    assert not missing, f"{ARCHITECTURE.name} does not place {missing}: add each to its drawing, at its layer"


def test_every_entry_of_the_drawing_exists():
    stale = [
        name
        for name in LAYERS
        if not (PACKAGE / name.replace(".", "/")).is_dir()
        and not (PACKAGE / (name.replace(".", "/") + ".py")).is_file()
    ]
    assert not stale, f"{ARCHITECTURE.name} draws {stale}, which the package does not have"


@pytest.mark.parametrize("part", package_parts())
def test_a_layer_imports_only_from_itself_and_the_layers_above_it(part: str):
    root = PACKAGE / part
    paths = sorted(root.rglob("*.py")) if root.is_dir() else [PACKAGE / f"{part}.py"]
    offences = []
    for path in paths:
        own = layer_of(module_name(path))
        for name in sorted(imported_modules(path)):
            if not name.startswith("actrec."):
                continue
            target = layer_of(name)
            if own is not None and target is not None and RANK[target] > RANK[own]:
                offences.append(f"{path.relative_to(ROOT)} ({own}) imports {name} ({target}, drawn below it)")
    assert not offences, "\n".join(offences)


def test_no_module_uses_pyplot_whose_state_is_global():
    users = [
        str(path.relative_to(ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "matplotlib.pyplot" in imported_modules(path)
    ]
    assert not users


IMPORT_EVERYTHING = """
import matplotlib
matplotlib.use("svg")
import actrec.cli, actrec.runs.sequences, actrec.experiments.compare, actrec.experiments.sweep, actrec.evaluation.report
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
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.FunctionDef) and item.name == "subset" for item in node.body
            ):
                offences.append(f"{path.name}: class {node.name} is a dataset")
            if isinstance(node, ast.FunctionDef) and node.name == "encode_labels":
                offences.append(f"{path.name}: encode_labels")
    assert not offences
