"""The flags that describe a data file's layout, defined once and taken by every command that
reads data (`train`, `eval`, `predict`, `export`, `compare`, `sweep`, `audit`), so each reads a
user's files the same way and a new command gets them all by using these defaults."""

from __future__ import annotations

from pathlib import Path

import typer

LabelsOption = typer.Option(None, "--labels", help="labels.csv for a long CSV: id,label plus an optional group column (group, subject, session, video, recording) and label_desc")
LabelLastOption = typer.Option(False, "--label-last", help="the .npy's last feature column is the label")
GroupsOption = typer.Option(None, "--groups", help="for a .npy: file of group ids (e.g. the video), one per window")
LabelNamesOption = typer.Option(None, "--label-names", help="for a .npy: names of classes 0, 1, ... (comma list or a file, one per line)")
GroupColumnOption = typer.Option(None, "--group-column", help="labels.csv: the column holding each sequence's group (default: group, subject, session, video or recording)")


def read_names(value: str | None) -> list[str] | None:
    """`--label-names`: a file with one name per line, or a comma list."""
    if not value:
        return None
    if Path(value).is_file():
        return [line.strip() for line in Path(value).read_text().splitlines() if line.strip()]
    return [part.strip() for part in value.split(",") if part.strip()]
