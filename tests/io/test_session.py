"""One session reader for streaming, the parser of the training long CSV: a sequence picked by
id, columns by name (or by order for models trained from arrays), the rate checked or resampled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actrec.errors import ConfigError, DataError
from actrec.io.session import Session, check_rate, read_session

NAMES = ["ax", "ay"]


def long_csv(path: Path, rate_hz: float = 50.0, ids: tuple[str, ...] = ("walk1", "run1"), steps: int = 20) -> Path:
    """The training layout: id, time (seconds from each sequence's start), features."""
    rows = []
    for k, name in enumerate(ids):
        for t in range(steps):
            rows.append({"id": name, "time": round(t / rate_hz, 6), "ay": 10 * k + t + 0.5, "ax": 10 * k + t})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_training_long_csv_streams_one_sequence_by_id(tmp_path: Path):
    path = long_csv(tmp_path / "train.csv")
    session = read_session(path, NAMES, sequence_id="run1")
    assert session.values.shape == (20, 2) and session.rate_hz == 50.0
    np.testing.assert_array_equal(session.values[:3], [[10, 10.5], [11, 11.5], [12, 12.5]])  # ax, ay by name
    np.testing.assert_allclose(session.times[:3], [0.0, 0.02, 0.04])
    with pytest.raises(ConfigError, match=r"holds 2 sequences \(ids walk1, run1\); pick one with --id ID"):
        read_session(path, NAMES)
    with pytest.raises(DataError, match="no rows with id nope"):
        read_session(path, NAMES, sequence_id="nope")


def test_without_feature_names_columns_are_read_in_order_with_their_count_checked(tmp_path: Path):
    path = tmp_path / "session.csv"
    pd.DataFrame({"time": [0.0, 0.1, 0.2], "c0": [1, 2, 3], "c1": [4, 5, 6]}).to_csv(path, index=False)
    session = read_session(path, None, n_features=2)
    np.testing.assert_array_equal(session.values[0], [1, 4])
    with pytest.raises(DataError, match=r"2 feature columns .* but the model takes 3") as error:
        read_session(path, None, n_features=3)
    assert "\n" not in str(error.value)


def test_rows_are_sorted_by_time_and_bad_values_named_by_line(tmp_path: Path):
    path = tmp_path / "shuffled.csv"
    pd.DataFrame({"time": [0.2, 0.0, 0.1], "ax": [3, 1, 2], "ay": [0, 0, 0]}).to_csv(path, index=False)
    np.testing.assert_array_equal(read_session(path, NAMES).values[:, 0], [1, 2, 3])
    path.write_text("time,ax,ay\n0.0,1,1\n0.1,oops,1\n")
    with pytest.raises(DataError, match="line 3 column 'ax': 'oops' is not a number"):
        read_session(path, NAMES)


def test_a_rate_mismatch_is_refused_in_one_line_or_resampled(tmp_path: Path):
    session = read_session(long_csv(tmp_path / "fast.csv", rate_hz=100.0, ids=("s",), steps=101), NAMES)
    assert session.rate_hz == 100.0
    with pytest.raises(
        ConfigError, match="sampled at 100 Hz but the model was trained at 50 Hz; add --resample"
    ) as error:
        check_rate(session, 50.0, resample=False)
    assert "\n" not in str(error.value)
    resampled = check_rate(session, 50.0, resample=True)
    assert resampled.rate_hz == 50.0 and len(resampled.times) == 51
    np.testing.assert_allclose(resampled.values[:, 0], np.arange(0, 101, 2))  # every other row of a ramp
    assert check_rate(session, 99.0, resample=False) is session  # within 2%: the same rate


def test_step_index_time_is_taken_at_the_model_rate():
    session = Session(times=np.arange(4.0), values=np.zeros((4, 2), np.float32), rate_hz=None, source="steps.csv")
    np.testing.assert_allclose(check_rate(session, 20.0, resample=False).times, [0, 0.05, 0.1, 0.15])
