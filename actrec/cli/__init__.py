"""The `actrec` command: thin typer commands over the Python API, one module per area.

Each command parses options, calls the API and prints; an `ActrecError` becomes one red line and
exit code 2 instead of a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import typer
from rich.console import Console

from actrec.errors import ActrecError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Action recognition from sequences.")
# messages on stderr are never wrapped by rich: a terminal folds long lines itself, and a log or a
# test reading the output sees each message on one line whatever COLUMNS says
console = Console(stderr=True, soft_wrap=True)


def results_console() -> Console:
    """A console on stdout for tables and JSON. On a terminal rich fits them to its width; into a
    pipe or a file (scripts, CI, tests) nothing is wrapped or cut, whatever COLUMNS says."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 10_000)


def run_cli(action: Callable[[], Any]) -> Any:
    """Run `action`, turning actrec's own errors into one line on stderr and exit code 2."""
    try:
        return action()
    except ActrecError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)



# importing the command modules registers their commands on `app`
from actrec.cli import comparison, core, keypoints, serving, streaming  # noqa: E402,F401
