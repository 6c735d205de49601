"""One writer per RUN folder: an exclusive lock held while a run builds it.

Two `actrec train --out runs/mix` at once would both build `runs/mix/partial` and publish over
each other (the folder silently holds the second; with the same seed one dies on the other's
temporary files). `exclusive_folder` takes an `fcntl.flock` on `RUN/.actrec.lock` without
waiting: a second run is refused in one line naming the holder (pid, host, since when), written
in the file by the holder. The operating system releases the lock when its process dies, however
it dies (`kill -9` included), so a stale lock never needs clearing: the next run takes it and
overwrites the dead holder's line. The file stays (empty once released): deleting it could let
a waiting process lock a file nobody else sees. flock is advisory and local: two machines
sharing a folder over NFS may not see each other's lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from actrec.errors import ConfigError

LOCK_FILE = ".actrec.lock"


@contextmanager
def exclusive_folder(folder: Path, what: str = "run") -> Iterator[None]:
    """Hold `folder`'s lock for the `with` block; ConfigError naming the holder if another has it."""
    path = folder / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as handle:  # "a+" never truncates: the holder's line stays readable
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process that has not written its name yet"
            raise ConfigError(
                f"{folder}: another {what} is building this folder ({holder}); wait for it to "
                "finish, or give another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
