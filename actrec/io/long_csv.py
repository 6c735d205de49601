"""Read the long CSV layout of sensor competitions: one row per (sequence, time step).

features.csv: `id,time,<feature columns...>` -- `id` names the sequence, `time` orders its steps
and every other column is a numeric feature (their names become `feature_names`). Rows may come in
any order; each id's steps are sorted by `time`. Ids with fewer steps are zero-padded to the longest
(`lengths` records the real count): nothing is truncated.

`time` is in seconds: `sample_rate_hz` = 1 / (median step between consecutive rows of an id). If the
`time` column holds integers it is read as step indices (0, 1, 2, ...): it orders the rows but says
nothing about seconds, so `sample_rate_hz` is None. Write seconds as decimals (0.0, 0.02, ...) to
keep the rate. ISO date-times (`2024-05-01 10:00:00.02`) are turned into seconds.

labels.csv: `id,label` (or the columns named by `id_column`, `label_column`) plus an optional group
column (kept as `groups` so splits never cut a group): `group`, else the first of `subject`,
`session`, `video`, `recording`, or the column named by `group_column`; a `label_desc` column names the classes (one description per label, in the
labels' order); every other column is kept per sample in `meta`. `read_long_csv`
returns the raw labels; `actrec.data.loading` turns them into indexes (`label_names` are the sorted
unique labels, numeric order when all labels are numbers). Without a labels file the data is
unlabelled (for predict).

The read is vectorised: pyarrow's multi-threaded CSV reader parses the file straight into columns
(skipping the pandas frame, whose string-id conversion alone costs as much as the parse), ids are
dictionary-encoded, and the padded array is filled by one fancy-index assignment, so 2 million rows
take seconds (see bench/load_csv.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.csv

from actrec.errors import DataError, first_line
from actrec.io.arrays import SequenceArrays
from actrec.io.labels import label_strings

_HEADER_LINES = 1  # a table's row i sits on file line i + 2
GROUP_COLUMNS = ("group", "subject", "session", "video", "recording")  # labels.csv columns read as groups, first found


def _few(values: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(str(v) for v in list(values)[:limit])
    return f"{shown} ({len(values)} in all)" if len(values) > limit else shown


def _check_columns(path: Path, columns: Sequence[str], required: Sequence[str]) -> None:
    missing = [column for column in required if column not in columns]
    if missing:
        raise DataError(
            f"{path}: no '{missing[0]}' column (found {', '.join(map(str, list(columns)[:8])) or 'none'}); "
            f"the file needs columns {','.join(required)}"
        )


def _read_arrow(path: Path, required: Sequence[str] = ("id", "time")) -> pyarrow.Table:
    """Parse features.csv with pyarrow's multi-threaded reader; ids stay text ("007" keeps its zeros).

    `required`: the columns the file must have (a single streamed session may leave out `id`)."""
    options = pyarrow.csv.ConvertOptions(column_types={"id": pyarrow.string()})
    try:
        table = pyarrow.csv.read_csv(path, convert_options=options)
        columns = table.column_names  # decoded here: a header that is not UTF-8 fails now
    except pyarrow.ArrowInvalid as error:
        message = first_line(error)
        if message == "Empty CSV file":
            raise DataError(
                f"{path}: file is empty; it needs a header line {','.join(required)},<features> and rows"
            ) from None
        raise DataError(f"{path}: not a readable CSV ({message})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    _check_columns(path, columns, list(required))
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise DataError(f"{path}: column '{repeated[0]}' appears twice in the header; give every column its own name")
    if table.num_rows == 0:
        raise DataError(f"{path}: has a header but no rows")
    return table


def _numeric_column(column: pyarrow.ChunkedArray, name: str, source: str) -> np.ndarray:
    """A column as float64 (empty cells NaN); text that is not a number raises a DataError naming its line."""
    if pyarrow.types.is_timestamp(column.type):
        nanoseconds = column.cast(pyarrow.timestamp("ns")).cast(pyarrow.int64()).to_numpy()
        return np.asarray(nanoseconds, dtype=np.float64) / 1e9
    if (
        pyarrow.types.is_integer(column.type)
        or pyarrow.types.is_floating(column.type)
        or pyarrow.types.is_boolean(column.type)
    ):
        return np.asarray(column.to_numpy(), dtype=np.float64)
    text = column.to_pandas()
    numbers = pd.to_numeric(text, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & text.notna().to_numpy())
    if bad.size:
        raise DataError(
            f"{source} line {bad[0] + _HEADER_LINES + 1} column '{name}': '{text.iloc[bad[0]]}' is not "
            "a number; fix the value or drop the column"
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _sort_rows(codes: np.ndarray, time: np.ndarray) -> np.ndarray | None:
    """Row order grouping ids (in first-appearance order) with time ascending; None if already so."""
    same_id = codes[1:] == codes[:-1]
    in_order = np.all(codes[1:] >= codes[:-1]) and np.all(time[1:][same_id] >= time[:-1][same_id])
    return None if in_order else np.lexsort((time, codes))


def _sample_rate_hz(time: np.ndarray, codes: np.ndarray, integer_time: bool) -> float | None:
    """1 / median time step within ids, or None when time holds step indices or ids have one step."""
    if integer_time:
        return None
    steps = np.diff(time)[codes[1:] == codes[:-1]]
    if steps.size == 0:
        return None
    return float(f"{1.0 / np.median(steps):.6g}")  # 6 digits: 50.0, not 49.99999999999996 from float steps


def read_features(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], float | None]:
    """Parse features.csv into padded `X [N, T, F]` float32, `lengths [N]`, `ids [N]`, names, rate."""
    source = str(path)
    table = _read_arrow(path)
    feature_names = [c for c in table.column_names if c not in ("id", "time")]
    if not feature_names:
        raise DataError(f"{source}: only 'id' and 'time' columns; add at least one feature column")
    encoded = table.column("id").combine_chunks().dictionary_encode()
    ids = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    codes = encoded.indices.to_numpy().astype(np.int64)  # text columns hold no nulls, so no gaps
    if "" in ids:
        row = int(np.flatnonzero(codes == list(ids).index(""))[0])
        raise DataError(f"{source} line {row + _HEADER_LINES + 1}: empty 'id'; give every row an id")
    integer_time = pyarrow.types.is_integer(table.column("time").type)
    time = _numeric_column(table.column("time"), "time", source)
    values = np.empty((table.num_rows, len(feature_names)), dtype=np.float32)
    for j, name in enumerate(feature_names):
        values[:, j] = _numeric_column(table.column(name), name, source)

    bad_time = np.flatnonzero(~np.isfinite(time))
    if bad_time.size:
        row = bad_time[0]
        raise DataError(
            f"{source} line {row + _HEADER_LINES + 1}: id {ids[codes[row]]} has no valid time ({time[row]}); every row needs a time"
        )
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad_rows.size:
        row = bad_rows[0]
        column = int(np.flatnonzero(~np.isfinite(values[row]))[0])
        raise DataError(
            f"{source} line {row + _HEADER_LINES + 1}: id {ids[codes[row]]} time {time[row]:g} column "
            f"'{feature_names[column]}' is {values[row, column]}; fill or drop missing values first"
        )

    order = _sort_rows(codes, time)
    if order is not None:
        codes, time, values = codes[order], time[order], values[order]
    repeated = np.flatnonzero((codes[1:] == codes[:-1]) & (time[1:] == time[:-1]))
    if repeated.size:
        row = repeated[0] + 1
        raise DataError(
            f"{source}: id {ids[codes[row]]} has two rows at time {time[row]:g}; keep one row per id and time"
        )

    lengths = np.bincount(codes, minlength=len(ids)).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    position = np.arange(len(codes)) - starts[codes]
    X = np.zeros((len(ids), int(lengths.max()), len(feature_names)), dtype=np.float32)
    X[codes, position] = values
    return X, lengths, ids, feature_names, _sample_rate_hz(time, codes, integer_time)


def read_labels(
    path: Path, ids: np.ndarray, features_source: str, id_column: str = "id", label_column: str = "label"
) -> pd.DataFrame:
    """labels.csv rows aligned to `ids`, its `id_column` and `label_column` renamed `id` and `label`
    (a column already named so is then not read); ids in one file but not the other raise a
    DataError."""
    source = str(path)
    try:
        table = pd.read_csv(path, dtype={id_column: "str", label_column: "str"})
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: file is empty; it needs a header line {id_column},{label_column} and one row per id"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CSV ({first_line(error)})") from None
    for column, flag in ((id_column, "--id-column"), (label_column, "--label-column")):
        if column not in table.columns:
            raise DataError(
                f"{path}: no '{column}' column (found {', '.join(map(str, list(table.columns)[:8])) or 'none'}); "
                f"name the file's column with {flag} NAME"
            )
    unused = [name for name, chosen in (("id", id_column), ("label", label_column)) if chosen != name]
    table = table.drop(columns=[name for name in unused if name in table.columns])
    table = table.rename(columns={id_column: "id", label_column: "label"})
    if table.empty:
        raise DataError(f"{path}: has a header but no rows")
    duplicated = table["id"].duplicated(keep=False).to_numpy()
    if duplicated.any():
        first_id = table["id"].iloc[np.flatnonzero(duplicated)[0]]
        lines = np.flatnonzero((table["id"] == first_id).to_numpy()) + _HEADER_LINES + 1
        raise DataError(
            f"{source}: id {first_id} appears on lines {lines[0]} and {lines[1]}; keep one label row per id"
        )
    labelled = pd.Index(table["id"])
    no_features = labelled.difference(pd.Index(ids), sort=False)
    if len(no_features):
        raise DataError(
            f"{source}: ids {_few(list(no_features))} have no rows in {features_source}; remove them from "
            "the labels file or add their sequences"
        )
    unlabelled = pd.Index(ids).difference(labelled, sort=False)
    if len(unlabelled):
        raise DataError(
            f"{features_source}: ids {_few(list(unlabelled))} have no label in {source}; add rows for them "
            "to the labels file or drop their sequences"
        )
    return table.set_index("id").loc[ids]


def _meta_array(column: pd.Series) -> np.ndarray:
    """Numbers stay numbers; text becomes a fixed-width str array, which `.npz` saves without pickle."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy()
    return column.astype(str).to_numpy(dtype=str)


def read_long_csv(
    path: str | Path,
    labels: str | Path | None = None,
    group_column: str | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
) -> SequenceArrays:
    """Read features.csv (+ labels.csv) into padded `X [N, T, F]`, ids in file order.

    With a labels file: raw `labels` (named by `label_desc` when it has one), `groups` (from
    `group_column`, else the first of `GROUP_COLUMNS` found) and the other columns as `meta`,
    aligned to the ids; `notes` say which column gave the groups or the names. `label_column`,
    `id_column`: the labels file's names for `label` and `id`.
    """
    path = Path(path)
    X, lengths, ids, feature_names, sample_rate_hz = read_features(path)
    raw, groups, meta, descriptions, notes = None, None, {}, None, []
    if labels is not None:
        labels = Path(labels)
        if not labels.is_file():
            raise DataError(f"{labels}: labels file not found; check the --labels path")
        table = read_labels(labels, ids, str(path), id_column or "id", label_column or "label")
        raw = label_strings(table["label"].to_numpy(dtype=object), str(labels), ids)
        column = _group_column(table, labels, group_column)
        if column is not None:
            no_group = np.flatnonzero(table[column].isna().to_numpy())
            if no_group.size:
                raise DataError(
                    f"{labels}: id {ids[no_group[0]]} has no {column}; fill the {column} column for every id"
                )
            groups = table[column].astype(str).to_numpy(dtype=object)
            if column != "group":
                notes.append(
                    f"groups: {labels} column '{column}' ({len(set(groups))} distinct), so splits keep each {column} whole"
                    + ("" if group_column else "; --group-column NAME picks another column")
                )
        if "label_desc" in table.columns:
            descriptions = _label_descriptions(raw, table["label_desc"], labels, ids)
        meta = {str(c): _meta_array(table[c]) for c in table.columns if c not in ("label", column)}
    return SequenceArrays(
        X=X,
        lengths=lengths,
        source=str(path),
        labels=raw,
        labels_source=None if labels is None else str(labels),
        groups=groups,
        ids=ids,
        feature_names=feature_names,
        sample_rate_hz=sample_rate_hz,
        meta=meta,
        notes=tuple(notes),
        label_descriptions=descriptions,
    )


def _group_column(table: pd.DataFrame, path: Path, group_column: str | None) -> str | None:
    """The labels column holding groups: `group_column` (which must exist), else the first of
    `GROUP_COLUMNS` present, else None."""
    if group_column is not None:
        if group_column not in table.columns:
            raise DataError(
                f"{path}: no column '{group_column}' for --group-column; its columns are id, {', '.join(map(str, table.columns))}"
            )
        if group_column == "label":
            raise DataError(
                f"{path}: --group-column label would put every class in one split; name the subject, session or video column"
            )
        return group_column
    return next((name for name in GROUP_COLUMNS if name in table.columns), None)


def _label_descriptions(raw: np.ndarray, descriptions: pd.Series, path: Path, ids: np.ndarray) -> dict[str, str]:
    """label -> its `label_desc`, in the labels' order (numeric when the labels are numbers); a
    label with two descriptions (or the reverse) is an error."""
    text = descriptions.astype(str).str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(descriptions.isna().to_numpy() | (text == ""))
    if empty.size:
        raise DataError(f"{path}: id {ids[empty[0]]} has no label_desc; fill it for every id or drop the column")
    pairs = pd.DataFrame({"label": raw, "desc": text}).drop_duplicates()
    for key, other in (("label", "desc"), ("desc", "label")):
        clash = pairs[pairs[key].duplicated(keep=False)]
        if len(clash):
            values = clash[other].tolist()
            raise DataError(
                f"{path}: {key} '{clash[key].iloc[0]}' goes with both '{values[0]}' and '{values[1]}'; "
                "give each label one label_desc"
            )
    lookup = dict(zip(pairs["label"], pairs["desc"]))
    try:
        order = sorted(lookup, key=float)
    except ValueError:
        order = sorted(lookup)
    return {label: lookup[label] for label in order}
