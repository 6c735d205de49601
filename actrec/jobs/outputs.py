"""Batch commands (`extract`, `predict`) write one output file per input file: the plan of
(input, output) pairs is checked for clashes before any work, each input ends in one status, and
`BatchReport` shows them as they finish (one progress bar and one line per input for every
batch command, here or on Ray)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

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
    if status == "done":
        return f"[green]done[/green] {escape(str(source))}: {escape(done)} -> {escape(str(output))}"
    if status == "skipped":
        return f"[dim]skip[/dim] {escape(str(source))}: {escape(str(output))} exists"
    return f"[red]fail[/red] {escape(message)}"


class Outcome(Protocol):
    """What happened to one input of a batch command."""

    @property
    def status(self) -> Status: ...
    @property
    def source(self) -> Path: ...
    @property
    def output(self) -> Path: ...
    @property
    def message(self) -> str: ...
    @property
    def done(self) -> str:
        """What was written, for the console line (`12 predictions`)."""
        ...

    @property
    def units(self) -> int:
        """How much of the bar's unit the input held (frames decoded), when the bar counts units."""
        ...


Finished = TypeVar("Finished", bound=Outcome)


class BatchReport:
    """The progress bar and one line per finished input of a batch command (a context manager);
    silent without a console.

    The bar counts inputs (`noun`, e.g. files), or with `unit` the units inside them (frames):
    `expect` sizes it from the inputs about to run, `advance` moves it as work is done, and each
    finished input settles the total on what it really held (containers' frame counts are
    estimates)."""

    def __init__(self, console: Console | None, n_inputs: int, noun: str, unit: str | None = None) -> None:
        self.console, self.n_inputs, self.noun, self.unit = console, n_inputs, noun, unit
        self.n_finished = 0
        self.expected: dict[Path, int] = {}
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        if console is None:
            return
        if unit is None:
            self.progress = Progress(
                TextColumn(f"[bold]{noun}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            )
            self.task = self.progress.add_task(noun, total=n_inputs)
        else:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
                SpeedColumn(unit),
                TimeRemainingColumn(),
                console=console,
            )

    def expect(self, sizes: dict[Path, int]) -> None:
        """Show the unit bar for the inputs about to run, sized by `sizes` (input -> units)."""
        self.expected = sizes
        if self.progress is not None and self.unit is not None and sizes:
            self.task = self.progress.add_task(self._description(), total=sum(sizes.values()))

    def advance(self, units: int) -> None:
        if self.progress is not None and self.task is not None and self.unit is not None:
            self.progress.advance(self.task, units)

    def finished(self, outcome: Finished) -> Finished:
        """Print the input's line and move the bar; returns `outcome`."""
        self.n_finished += 1
        if self.console is None:
            return outcome
        line = outcome_line(outcome.status, outcome.source, outcome.output, outcome.done, outcome.message)
        self.console.print(line, highlight=False, soft_wrap=True)
        if self.progress is not None and self.task is not None:
            if self.unit is None:
                self.progress.advance(self.task)
            else:
                surplus = self.expected.get(outcome.source, outcome.units) - outcome.units
                total = self.progress.tasks[0].total or 0
                self.progress.update(self.task, description=self._description(), total=total - surplus)
        return outcome

    def note(self, line: str) -> None:
        """A line about one part of an input (a bad video skipped), in yellow."""
        if self.console is not None:
            self.console.print(f"[yellow]{escape(line)}[/yellow]", highlight=False, soft_wrap=True)

    def _description(self) -> str:
        return f"{self.noun} {self.n_finished}/{self.n_inputs}"

    def __enter__(self) -> BatchReport:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


class SpeedColumn(ProgressColumn):
    """The task's throughput in `unit` per second."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = self.unit
        return Text(f"-- {unit}/s" if speed is None else f"{speed:.1f} {unit}/s", style="progress.data.speed")
