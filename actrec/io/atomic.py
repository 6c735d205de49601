"""Write-then-rename, so a failed run never leaves a half-written file over a good one.

The temporary file comes from `mkstemp`, which makes it private (0600); before the rename it gets
the mode a plain `open(path, "w")` would give, so other users and containers can read the outputs.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds (the
    temporary file is removed otherwise, and an OSError that names no file names `path`)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _plain_write_mode(target))
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.filename is None and error.errno is not None:
            # a write on an open file (disk full, file size limit) names no file: name the target
            raise OSError(error.errno, error.strerror, str(target)) from None
        raise


def _plain_write_mode(target: Path) -> int:
    """An existing file keeps its mode; a new one gets 0666 less the process umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
