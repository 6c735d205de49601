"""Prints the fuzz suite's count of inputs tried at the end of the run (see fuzzing.py)."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    try:
        from tests.fuzz.fuzzing import COUNTS
    except BaseException:  # noqa: BLE001  hypothesis absent: the fuzz tests were skipped
        return
    if COUNTS["inputs"]:
        terminalreporter.write_line(
            f"fuzz: {COUNTS['inputs']} inputs tried, {COUNTS['loaded']} loaded, "
            f"{COUNTS['refused']} refused in one line, {COUNTS['tracebacks']} tracebacks"
        )
