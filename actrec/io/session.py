"""One recorded session, for streaming: `time` plus feature columns, parsed exactly as the long
CSV of training is (`io.long_csv`: pyarrow, seconds or ISO date-times, the same one-line errors).

A keypoint model's session has one column per joint coordinate: named `<joint>_<channel>` after
the model's joints (`nose_x, nose_y, nose_score, ...`; taken in the model's joint order, the first
C of each joint, other columns ignored), or else exactly `J * C` columns in the model's order. An
empty cell there is a joint the detector missed, read as NaN (`allow_missing`),
as recordings store it; the time column is never allowed to be empty.

A session file may be the training long CSV itself: with an `id` column, `sequence_id` picks one
sequence (required when the file holds several). Columns are matched to the model's feature
names; a model trained from arrays has none, so then the columns after `id`/`time` are taken in
order and their count must match. Rows are sorted by time, as training sorts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow
import pyarrow.compute

from actrec.errors import ConfigError, DataError
from actrec.io.long_csv import _HEADER_LINES, _numeric_column, _read_arrow, _sample_rate_hz

AXES = {"x": 0, "y": 1, "z": 2}  # coordinate channels come first, in this order
RATE_TOLERANCE = 0.02  # rates within 2% are the same rate (clock jitter, rounding of time stamps)


@dataclass
class Session:
    """times: float64 `[T]` seconds from the first row (step indices when the file's time holds
    integers); values: float32 `[T, F]` in the model's feature order; rate_hz: None when unknown."""

    times: np.ndarray
    values: np.ndarray
    rate_hz: float | None
    source: str


def read_session(
    path: str | Path,
    feature_names: Sequence[str] | None,
    n_features: int | None = None,
    sequence_id: str | None = None,
    allow_missing: bool = False,
    joints: tuple[Sequence[str], int] | None = None,
) -> Session:
    """Read one sequence of `path` (see the module docstring). allow_missing: empty feature cells
    are NaN (undetected joints) instead of an error. joints: a keypoint model's joint names and
    channels per joint, for columns named after the joints."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DataError(f"{path}: CSV file not found; check the path")
    table = _read_arrow(path, required=("time",))
    if "id" in table.column_names:
        table, source = _one_sequence(table, path, sequence_id)
    elif sequence_id is not None:
        raise ConfigError(f"{path}: --id {sequence_id} picks a sequence, but the file has no 'id' column")
    columns = (_joint_columns(table.column_names, path, *joints) if joints else None) or _feature_columns(
        table.column_names, path, feature_names, n_features
    )
    integer_time = pyarrow.types.is_integer(table.column("time").type)
    time = _numeric_column(table.column("time"), "time", source)
    values = np.empty((table.num_rows, len(columns)), dtype=np.float32)
    for j, name in enumerate(columns):
        values[:, j] = _numeric_column(table.column(name), name, source)
    bad_values = np.isinf(values) if allow_missing else ~np.isfinite(values)
    bad = np.flatnonzero(~np.isfinite(time) | bad_values.any(axis=1))
    if bad.size:
        what = (
            "the time is missing or a value is infinite"
            if allow_missing
            else "a time or feature value is missing or not finite"
        )
        raise DataError(f"{source} line {bad[0] + _HEADER_LINES + 1}: {what}; fill or drop that row")
    order = np.argsort(time, kind="stable")
    time, values = time[order], values[order]
    repeated = np.flatnonzero(time[1:] == time[:-1])
    if repeated.size:
        raise DataError(
            f"{source}: two rows at time {time[repeated[0]]:g}; keep one row per time "
            "(a long CSV with several sequences needs --id)"
        )
    rate = _sample_rate_hz(time, np.zeros(len(time), dtype=np.int64), integer_time)
    return Session(times=time - time[0], values=values, rate_hz=rate, source=source)


def _one_sequence(table: pyarrow.Table, path: Path, sequence_id: str | None) -> tuple[pyarrow.Table, str]:
    ids = table.column("id").combine_chunks()
    unique = ids.unique().to_pylist()
    if sequence_id is None:
        if len(unique) > 1:
            shown = ", ".join(str(i) for i in unique[:3]) + (" ..." if len(unique) > 3 else "")
            raise ConfigError(f"{path}: holds {len(unique)} sequences (ids {shown}); pick one with --id ID")
        return table, str(path)
    if sequence_id not in unique:
        raise DataError(
            f"{path}: no rows with id {sequence_id}; ids in the file include {', '.join(map(str, unique[:3]))}"
        )
    return table.filter(pyarrow.compute.equal(ids, pyarrow.scalar(sequence_id))), f"{path} id {sequence_id}"


def _joint_channel(column: str, joint: str) -> str | None:
    """`x` for column `nose_x` of joint `nose`; None when the column is not one of the joint's."""
    prefix = f"{joint.lower()}_"
    rest = column[len(prefix) :].lower() if column.lower().startswith(prefix) else ""
    return rest if rest and "_" not in rest else None


def _joint_columns(columns: list[str], path: Path, joint_names: Sequence[str], channels: int) -> list[str] | None:
    """The columns `<joint>_<channel>` of every joint, in the model's joint order, channels x, y, z
    first and the rest (score, visibility) in file order, the first `channels` of each; None when
    no column is named after a joint (then they go by order). The channel is one word, so
    `left_eye_inner_x` is not a column of `left_eye`."""
    found: dict[str, list[str]] = {}
    for joint in joint_names:
        named = [
            (AXES.get(channel, len(AXES)), index, name)
            for index, name in enumerate(columns)
            if (channel := _joint_channel(name, joint))
        ]
        found[joint] = [name for *_, name in sorted(named)]
    if not any(found.values()):
        return None
    short = [joint for joint, names in found.items() if len(names) < channels]
    if short:
        raise DataError(
            f"{path}: joint column(s) missing for {', '.join(short[:5])}{' ...' if len(short) > 5 else ''}; "
            f"columns named after joints need {channels} per joint (e.g. {short[0]}_x, {short[0]}_y), "
            "or give all columns unnamed in the model's joint order"
        )
    return [name for joint in joint_names for name in found[joint][:channels]]


def _feature_columns(
    columns: list[str], path: Path, feature_names: Sequence[str] | None, n_features: int | None
) -> list[str]:
    if feature_names:
        missing = [name for name in feature_names if name not in columns]
        if missing:
            raise DataError(
                f"{path}: missing column(s) {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; "
                f"the model needs 'time' plus its {len(feature_names)} feature columns by name"
            )
        return list(feature_names)
    rest = [name for name in columns if name not in ("id", "time")]
    if n_features is not None and len(rest) != n_features:
        raise DataError(
            f"{path}: {len(rest)} feature columns ({', '.join(rest[:5])}) but the model takes {n_features}; "
            "a model trained from arrays has no feature names, so the columns after time are read in order: "
            f"give exactly its {n_features}"
        )
    return rest


def check_rate(session: Session, model_rate_hz: float | None, resample: bool) -> Session:
    """The session at the model's rate: as is when they agree (or either is unknown), resampled
    when `resample`, else a one-line ConfigError (a 100 Hz session into a 50 Hz model would run
    every motion at half speed)."""
    if model_rate_hz is None:
        return session
    if session.rate_hz is None:  # integer time: step indices, taken at the model's rate
        return replace(session, times=session.times / model_rate_hz, rate_hz=model_rate_hz)
    if abs(session.rate_hz - model_rate_hz) <= RATE_TOLERANCE * model_rate_hz:
        return session
    if not resample:
        raise ConfigError(
            f"{session.source}: sampled at {session.rate_hz:g} Hz but the model was trained at {model_rate_hz:g} Hz; "
            f"add --resample to resample it to {model_rate_hz:g} Hz"
        )
    return resample_session(session, model_rate_hz)


def resample_session(session: Session, rate_hz: float) -> Session:
    """Linear interpolation of every feature onto a regular `rate_hz` grid over the session."""
    times = np.arange(0.0, session.times[-1] + 0.5 / rate_hz, 1.0 / rate_hz)
    times = times[times <= session.times[-1] + 1e-9]
    values = np.stack(
        [np.interp(times, session.times, session.values[:, j]) for j in range(session.values.shape[1])], axis=1
    )
    return Session(times=times, values=values.astype(np.float32), rate_hz=rate_hz, source=session.source)
