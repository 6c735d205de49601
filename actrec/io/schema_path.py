"""Where a skeleton schema `.yaml` named inside a recording or dataset file is looked for.

A relative schema path stored in a file is relative to that file's folder (like a link in a web
page), so `actrec train --data u4/windows.npz` works from any working directory. Files are written
that way, and read back as absolute paths. Built-in schema names pass through untouched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload


def _is_path(schema: str | None) -> bool:
    return bool(schema) and str(schema).endswith((".yaml", ".yml"))


@overload
def schema_as_read(schema: str, file: str | Path) -> str: ...
@overload
def schema_as_read(schema: None, file: str | Path) -> None: ...
def schema_as_read(schema: str | None, file: str | Path) -> str | None:
    """The schema stored in `file`, made absolute against `file`'s folder when found there
    (else as stored: older files hold paths relative to where they were written from)."""
    if not _is_path(schema) or Path(str(schema)).is_absolute():
        return schema
    beside = Path(file).parent / str(schema)
    return str(beside.resolve()) if beside.is_file() else schema


def schema_to_write(schema: str | None, file: str | Path) -> str | None:
    """The schema to store in `file`: a schema file's path relative to `file`'s folder."""
    if not _is_path(schema) or not Path(str(schema)).is_file():
        return schema
    return os.path.relpath(Path(str(schema)).resolve(), Path(file).resolve().parent)
