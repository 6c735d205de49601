"""Hostile array files for the tests: a `.npy` header declaring far more than its file holds, and
an `.npz` of zeros that inflates a thousandfold (written in chunks, never held in memory)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

TIB_36 = (1 << 14, 1 << 14, 9 << 12)  # float32: 36 TiB


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A valid `.npy` header (magic, version 1.0) for `shape`, without any data after it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def npz_of(path: Path, members: dict[str, bytes]) -> Path:
    """An `.npz` (deflated zip) holding `members` as given: name -> the bytes of its `.npy`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zero_bomb(path: Path, n_bytes: int, n_samples: int = 2) -> Path:
    """An `.npz` whose `X [n_samples, T, 4]` float32 zeros inflate to about `n_bytes` (no labels:
    data to predict)."""
    steps = max(1, n_bytes // (16 * n_samples))
    chunk = bytes(1 << 20)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("X.npy", "w", force_zip64=True) as member,
    ):
        member.write(npy_header((n_samples, steps, 4)))
        left = n_samples * steps * 16
        while left > 0:
            member.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return path
