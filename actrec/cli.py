"""The `actrec` command: thin typer commands over the Python API.

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
console = Console(stderr=True)


def run_cli(action: Callable[[], Any]) -> Any:
    """Run `action`, turning actrec's own errors into one line on stderr and exit code 2."""
    try:
        return action()
    except ActrecError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


# --- core commands (issue 2): train, eval, predict, info, demo --------------------------------

# --- keypoint commands (issue 3): dataset build/generate, extract -------------------------------

# --- streaming commands (issue 4): stream, export ----------------------------------------------

# --- comparison commands (issue 5): compare, sweep, audit, report ------------------------------


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
