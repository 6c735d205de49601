"""Batch commands (`extract`, `predict`) write one output file per input file: the plan of
(input, output) pairs is checked for clashes before any work, and each input ends in one status."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from actrec.errors import DataError

Status = Literal["done", "skipped", "failed"]


def check_distinct_outputs(pairs: Sequence[tuple[Path, Path]], fix: str = "rename one of them") -> None:
    """A DataError naming both inputs when two of `pairs` would write the same output file."""
    seen: dict[Path, Path] = {}
    for source, output in pairs:
        if output in seen:
            raise DataError(f"{source} and {seen[output]} would both write {output}; {fix}")
        seen[output] = source


def outcome_line(status: Status, source: Path, output: Path, done: str, message: str) -> str:
    """The console line (rich markup) of one finished input: `done` says what was written."""
    from rich.markup import escape

    if status == "done":
        return f"[green]done[/green] {escape(str(source))}: {escape(done)} -> {escape(str(output))}"
    if status == "skipped":
        return f"[dim]skip[/dim] {escape(str(source))}: {escape(str(output))} exists"
    return f"[red]fail[/red] {escape(message)}"
