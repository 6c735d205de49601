"""The flags that describe a data file's layout (`--labels`, `--label-last`, `--groups`,
`--label-names`, `--group-column`, `--label-column`, `--id-column`), defined once: `with_data_layout`
gives them to every command that reads data (`train`, `eval`, `predict`, `export`, `compare`,
`sweep`, `audit`, `dataset build`) as one `DataLayout`, so each reads a user's files the same way
and a new command gets them all. Every such command takes `--data` as a list (repeated, or a
quoted pattern), read by `DataLayout.load`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import typer


@dataclass(frozen=True)
class DataLayout:
    """How the user's data files are laid out, as given on the command line (None = not given)."""

    labels: str | None = None
    label_last: bool = False
    groups: str | None = None
    label_names: str | None = None
    group_column: str | None = None
    label_column: str | None = None
    id_column: str | None = None

    @property
    def class_names(self) -> list[str] | None:
        return read_names(self.label_names)

    def unused_by_prediction(self) -> str | None:
        """A note naming the flags given that only say where labels and groups are, which reading
        samples to predict does not need (None when there are none), so they are not silently dropped."""
        given = [
            flag
            for flag, value in (
                ("--labels", self.labels),
                ("--groups", self.groups),
                ("--group-column", self.group_column),
                ("--label-column", self.label_column),
                ("--id-column", self.id_column),
            )
            if value is not None
        ]
        return f"{', '.join(given)}: not needed to read samples for prediction, so not used" if given else None

    def load(self, data: str | Sequence[str], label_names: Sequence[str] | None = None) -> Any:
        """`data` (files or patterns) as one SequenceDataset (`data.loading.load_data`); label_names:
        a training label order to index into."""
        from actrec.data.loading import load_data

        return load_data(
            data,
            labels=self.labels,
            label_last=self.label_last,
            label_names=label_names,
            groups=self.groups,
            class_names=self.class_names,
            group_column=self.group_column,
            label_column=self.label_column,
            id_column=self.id_column,
        )

    def load_test(self, test: str, test_labels: str | None, label_names: Sequence[str]) -> Any:
        """A separate `--test` in the same layout, with its own labels file (`--test-labels`) and
        no groups file (groups only matter for splitting), indexed in the training label order."""
        from actrec.data.loading import load_data

        return load_data(
            test,
            labels=test_labels,
            label_last=self.label_last,
            label_names=label_names,
            class_names=self.class_names,
            group_column=self.group_column if test_labels else None,
            label_column=self.label_column if test_labels else None,
            id_column=self.id_column if test_labels else None,
        )


_FLAGS: dict[str, tuple[type, Any]] = {
    "labels": (
        str,
        typer.Option(
            None,
            "--labels",
            help="labels.csv for a long CSV: id,label plus an optional group column (group, subject, session, video, recording) and label_desc (class names)",
        ),
    ),
    "label_last": (bool, typer.Option(False, "--label-last", help="the .npy's last feature column is the label")),
    "groups": (
        str,
        typer.Option(None, "--groups", help="for a .npy: file of group ids (e.g. the video), one per window"),
    ),
    "label_names": (
        str,
        typer.Option(
            None, "--label-names", help="for a .npy: names of classes 0, 1, ... (comma list or a file, one per line)"
        ),
    ),
    "group_column": (
        str,
        typer.Option(
            None,
            "--group-column",
            help="labels.csv: the column holding each sequence's group (default: group, subject, session, video or recording)",
        ),
    ),
    "label_column": (
        str,
        typer.Option(None, "--label-column", help="labels.csv: the column holding the label (default: label)"),
    ),
    "id_column": (
        str,
        typer.Option(
            None, "--id-column", help="labels.csv: the column holding the features file's sequence id (default: id)"
        ),
    ),
}
assert set(_FLAGS) == {field.name for field in fields(DataLayout)}


def with_data_layout(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give `command` (which takes `layout: DataLayout`) the layout flags, collected into `layout`."""
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.name != "layout" and p.kind is not p.VAR_KEYWORD]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        for name, (kind, option) in _FLAGS.items()
    ]

    @functools.wraps(command)
    def with_layout(*args: Any, **kwargs: Any) -> Any:
        layout = DataLayout(**{name: kwargs.pop(name) for name in _FLAGS})
        return command(*args, layout=layout, **kwargs)

    with_layout.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
    return with_layout


def read_names(value: str | None) -> list[str] | None:
    """`--label-names`: a file with one name per line, or a comma list."""
    if not value:
        return None
    if Path(value).is_file():
        return [line.strip() for line in Path(value).read_text().splitlines() if line.strip()]
    return [part.strip() for part in value.split(",") if part.strip()]
