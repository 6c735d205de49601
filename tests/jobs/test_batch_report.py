"""`BatchReport`, the one progress report of the batch commands: a line per finished input with
its status, a bar that counts inputs or the units inside them (frames), settled on what each
input really held, and nothing at all without a console."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from actrec.jobs.outputs import BatchReport, Status


@dataclass(frozen=True)
class Done:
    source: Path
    output: Path
    status: Status
    units: int = 0
    message: str = ""

    @property
    def done(self) -> str:
        return f"{self.units} frames"


def console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=200, force_terminal=False, color_system=None), text


def test_each_input_gets_one_line_with_its_status():
    out, text = console()
    with BatchReport(out, 3, "files") as report:
        report.finished(Done(Path("a.npz"), Path("a.csv"), "done", 7))
        report.finished(Done(Path("b.npz"), Path("b.csv"), "skipped"))
        report.finished(Done(Path("c.npz"), Path("c.csv"), "failed", message="c.npz: no 'X' array"))
        report.note("c.npz: one video skipped")
    lines = text.getvalue()
    assert "done a.npz: 7 frames -> a.csv" in lines
    assert "skip b.npz: b.csv exists" in lines
    assert "fail c.npz: no 'X' array" in lines
    assert "c.npz: one video skipped" in lines
    assert report.progress is not None and report.progress.tasks[0].completed == 3


def test_a_unit_bar_settles_its_total_on_what_each_input_held():
    out, _ = console()
    with BatchReport(out, 2, "videos", unit="frames") as report:
        report.expect({Path("a.mp4"): 100, Path("b.mp4"): 50})
        report.advance(90)
        report.finished(Done(Path("a.mp4"), Path("a.npz"), "done", 90))  # the container said 100
        task = report.progress.tasks[0]
        assert task.total == 140 and task.completed == 90
        assert task.description == "videos 1/2"


def test_without_a_console_nothing_is_drawn_and_outcomes_pass_through():
    outcome = Done(Path("a.npz"), Path("a.csv"), "done", 1)
    with BatchReport(None, 1, "files") as report:
        assert report.finished(outcome) is outcome
    assert report.progress is None
