"""The `actrec` command: thin typer commands over the Python API, one module per area.

Each command parses options, calls the API and prints; an `ActrecError` becomes one red line and
exit code 2 instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from actrec.errors import ActrecError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Action recognition from sequences.")
# messages on stderr are never wrapped by rich: a terminal folds long lines itself, and a log or a
# test reading the output sees each message on one line whatever COLUMNS says
console = Console(stderr=True, soft_wrap=True)


def results_console() -> Console:
    """A console on stdout for tables and JSON. On a terminal rich fits them to its width; into a
    pipe or a file (scripts, CI, tests) nothing is wrapped or cut, whatever COLUMNS says."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 10_000)


# the machine failing under a command: what to do about each (the OSError names the file)
MACHINE_ERRORS = {
    errno.ENOSPC: "the disk is full; free space or write elsewhere, then run again",
    errno.EDQUOT: "the disk quota is used up; free space or write elsewhere, then run again",
    errno.EFBIG: "the file size limit stopped the write (ulimit -f, or the file system's largest file); raise it or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere (e.g. another --out)",
    errno.EACCES: "permission denied; check the folder's owner and mode, or write elsewhere",
    errno.EPERM: "operation not permitted; check the folder's owner and mode, or write elsewhere",
    errno.EMFILE: "too many open files for this process; raise the limit (ulimit -n) or work on fewer files at once",
    errno.ENFILE: "too many open files on this machine; close other programs or work on fewer files at once",
}


def machine_error_line(error: OSError) -> str | None:
    """One line for an OSError of the machine (disk full, limits, read-only, permissions), naming
    the path and the fix; None for any other OSError."""
    fix = MACHINE_ERRORS.get(error.errno or 0)
    if fix is None:
        return None
    return f"{error.filename or 'a file'}: {error.strerror or os.strerror(error.errno or 0)}; {fix}"


def run_cli(action: Callable[[], Any]) -> Any:
    """Run `action`, turning actrec's own errors, and the machine's (`MACHINE_ERRORS`), into one
    line on stderr and exit code 2. What was written before stays: outputs are written to a
    temporary file and renamed, and a run publishes only when it has finished."""
    try:
        return action()
    except ActrecError as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except OSError as error:
        line = machine_error_line(error)
        if line is None:
            raise
        console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


# importing the command modules registers their commands on `app`
from actrec.cli import comparison, core, keypoints, serving, streaming  # noqa: E402,F401
