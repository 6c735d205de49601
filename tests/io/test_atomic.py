"""Atomic writes leave files with the mode a plain write would give, not mkstemp's private 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from actrec.io.atomic import atomic_path, write_text_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back."""
    old = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(old)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)], ids=["022", "027", "002"])
def test_new_files_get_the_umask_mode(tmp_path: Path, umask, mask: int, expected: int):
    umask(mask)
    write_text_atomic(tmp_path / "metrics.json", "{}")
    with atomic_path(tmp_path / "windows.npz") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, X=np.zeros(3))
    assert mode(tmp_path / "metrics.json") == expected
    assert mode(tmp_path / "windows.npz") == expected


def test_an_existing_file_keeps_its_mode(tmp_path: Path, umask):
    umask(0o022)
    target = tmp_path / "report.md"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o640


def test_a_saved_run_is_readable_by_others(tmp_path: Path, umask):
    """The files of `Recognizer.save` and a dataset's `.npz`, as other users see them."""
    from actrec.recognizers import Recognizer
    from tests.helpers.waves import make_waves

    umask(0o022)
    data = make_waves(n=24, steps=8)
    data.to_npz(str(tmp_path / "windows.npz"))
    Recognizer(model="gru", model_options={"hidden_sizes": [4], "dense": []}, epochs=1, seed=0).fit(data).save(
        tmp_path / "model.actrec"
    )
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {path.name for path in written} >= {"windows.npz", "model.actrec"}
    assert {path.name: mode(path) for path in written} == {path.name: 0o644 for path in written}
