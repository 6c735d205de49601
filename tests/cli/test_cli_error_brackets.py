"""An error line keeps its square brackets: rich read `'actrec[serve]'` in a message as markup and
printed `pip install 'actrec'`, a command that installs the wrong thing."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from actrec.cli import run_cli
from actrec.errors import ConfigError

app = typer.Typer()


@app.command()
def fail() -> None:
    def action() -> None:
        raise ConfigError("serving needs the serve extra: pip install 'actrec[serve]'; flip_pairs=[left:right]")

    run_cli(action)


def test_an_error_message_is_printed_as_written() -> None:
    result = CliRunner().invoke(app, [], env={"COLUMNS": "250"})
    assert result.exit_code == 2
    assert "pip install 'actrec[serve]'" in result.output and "flip_pairs=[left:right]" in result.output


@pytest.mark.parametrize("line", ["clips/left/[draft] a.mp4: empty file; skipped"])
def test_a_bad_video_line_keeps_its_brackets(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    from actrec.cli.clips import report_bad_video

    report_bad_video(line)
    assert line in " ".join(capsys.readouterr().err.split())
