"""Refuse a `.npy` / `.npz` whose declared size is too big before anything is inflated.

numpy allocates the whole array a `.npy` header declares before it reads a byte of data, and an
`.npz` member is inflated whatever its compression ratio: a 300-byte file can declare 36 TiB (a
`MemoryError` deep in numpy), and a 2 MB `.npz` of zeros inflates to 2 GiB. Here the headers are
read first (a zip's directory and each member's `.npy` header, a few hundred bytes each) and
checked against `ArrayLimits`:

- declared elements (`prod(shape)`) and bytes (`elements * itemsize`) of every array, summed over
  the file, against `max_elements` / `max_bytes`;
- the declared data against the bytes actually there (a `.npy` file's size, a zip member's
  uncompressed size), so a header cannot promise more than the file holds;
- each zip member's uncompressed size against `max_ratio` times its compressed size (members
  under `RATIO_FREE_BYTES` inflated are exempt: small files compress however they like).

zipfile never inflates past a member's declared uncompressed size, so once these checks pass,
reading the file costs at most `max_bytes`.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np

from actrec.errors import DataError, first_line
from actrec.io.archive import ARRAY_FILE_ERRORS

MAX_BYTES_ENV = "ACTREC_MAX_ARRAY_BYTES"
MAX_RATIO_ENV = "ACTREC_MAX_ARRAY_RATIO"
RATIO_FREE_BYTES = 1 << 20


@dataclass(frozen=True)
class ArrayLimits:
    """What one data file may declare. `remedy` / `ratio_remedy` end a refusal over the size /
    the ratio: what the reader of the message can do (the CLI names the environment variables,
    the server says what to send instead)."""

    max_elements: int = 4 << 30  # 16 GiB as float32, where every reader converts to
    max_bytes: int = 16 << 30
    max_ratio: float = 100.0  # deflate reaches ~1000 on zeros; real sequences compress < 20x
    remedy: str = f"if the file is genuine, raise the limit with {MAX_BYTES_ENV}=BYTES"
    ratio_remedy: str = (
        f"if the file is genuine, save it uncompressed (numpy.savez) or raise the limit with {MAX_RATIO_ENV}=N"
    )

    @classmethod
    def default(cls) -> ArrayLimits:
        """The limits of a reader given none: these defaults, with `ACTREC_MAX_ARRAY_BYTES` (bytes;
        elements follow as float32) and `ACTREC_MAX_ARRAY_RATIO` over them."""
        limits = cls()
        given = os.environ.get(MAX_BYTES_ENV, "").strip()
        if given:
            if not given.isdigit() or int(given) < 1:
                raise DataError(f"{MAX_BYTES_ENV}={given!r}: give a whole number of bytes, e.g. {cls.max_bytes}")
            limits = replace(limits, max_elements=int(given) // 4, max_bytes=int(given))
        ratio = os.environ.get(MAX_RATIO_ENV, "").strip()
        if ratio:
            if not ratio.isdigit() or int(ratio) < 1:
                raise DataError(f"{MAX_RATIO_ENV}={ratio!r}: give a whole number, e.g. {cls.max_ratio:g}")
            limits = replace(limits, max_ratio=float(ratio))
        return limits


def _size_text(n_bytes: int) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{n_bytes} bytes"


def _read_header(handle: IO[bytes], source: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header length in bytes) of the `.npy` stream at `handle`'s start."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"format version {version}")
    except ARRAY_FILE_ERRORS as error:
        raise DataError(
            f"{source}: not a readable .npy header ({first_line(error)[:120]}); save it with numpy"
        ) from None
    return tuple(int(n) for n in shape), dtype, handle.tell()


class _Tally:
    """Elements and bytes declared so far in one file, refused as soon as they pass the limits."""

    def __init__(self, limits: ArrayLimits, source: str) -> None:
        self.limits, self.source = limits, source
        self.elements = 0
        self.bytes = 0

    def add(self, name: str, shape: tuple[int, ...], dtype: np.dtype, available: int) -> None:
        elements = int(np.prod(shape, dtype=object))  # Python ints: a forged shape cannot overflow
        n_bytes = elements * dtype.itemsize
        self.elements += elements
        self.bytes += n_bytes
        where = f"{self.source}: {name} declares shape {list(shape)} of {dtype} ({_size_text(n_bytes)})"
        if self.elements > self.limits.max_elements or self.bytes > self.limits.max_bytes:
            raise DataError(
                f"{where}, over the limit of {self.limits.max_elements} values / "
                f"{_size_text(self.limits.max_bytes)} per file; {self.limits.remedy}"
            )
        if not dtype.hasobject and n_bytes > available:
            raise DataError(f"{where} but holds {_size_text(available)} of data; the file is truncated or forged")


def check_npy(path: Path, limits: ArrayLimits) -> None:
    """Refuse a `.npy` whose header declares more than `limits` or more than the file holds."""
    with open(path, "rb") as handle:
        shape, dtype, header_length = _read_header(handle, str(path))
    _Tally(limits, str(path)).add("the array", shape, dtype, os.path.getsize(path) - header_length)


def check_npz(path: Path, limits: ArrayLimits) -> None:
    """Refuse an `.npz` whose members declare more than `limits` (sizes, compression ratio)."""
    source = str(path)
    tally = _Tally(limits, source)
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                _check_member(archive, member, tally, limits, source)
    except DataError:
        raise
    except ARRAY_FILE_ERRORS as error:  # a corrupt deflate stream raises zlib.error
        raise DataError(
            f"{source}: not a readable .npz file ({first_line(error)[:120]}); save it with numpy.savez"
        ) from None


def _check_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, tally: _Tally, limits: ArrayLimits, source: str
) -> None:
    inflated, packed = member.file_size, max(1, member.compress_size)
    name = f"'{member.filename.removesuffix('.npy')}'"
    if inflated > limits.max_bytes:
        raise DataError(
            f"{source}: {name} inflates to {_size_text(inflated)}, over the limit of "
            f"{_size_text(limits.max_bytes)} per file; {limits.remedy}"
        )
    if inflated > RATIO_FREE_BYTES and inflated > limits.max_ratio * packed:
        raise DataError(
            f"{source}: {name} inflates {inflated / packed:.0f}-fold ({_size_text(packed)} to "
            f"{_size_text(inflated)}), over the {limits.max_ratio:g}-fold limit; a compression bomb "
            f"or padding only; {limits.ratio_remedy}"
        )
    with archive.open(member) as handle:
        if handle.read(6) != b"\x93NUMPY":
            tally.add(name, (inflated,), np.dtype(np.uint8), inflated)  # numpy hands it back as raw bytes
            return
    with archive.open(member) as handle:
        shape, dtype, header_length = _read_header(handle, f"{source}: {name}")
    tally.add(name, shape, dtype, inflated - header_length)
