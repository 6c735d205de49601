"""Windows cut from recordings are put back together into the continuous labelled sessions they
came from: the same frames, split where no window covers the recording, segments from the labels."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from actrec.data.segments import windows_from_segments
from actrec.data.sessions import sessions_from_windows
from actrec.errors import DataError
from tests.data.test_segments import write_recording


@pytest.fixture
def windows(tmp_path):
    """200 frames at 10 fps: a (0-6 s), b (6-12 s), nothing (12-16 s), a (16-20 s); 20-frame
    windows every 5 frames (a window needs half its frames labelled)."""
    write_recording(tmp_path / "recs" / "cam1.npz", frames=200)
    segments = pd.DataFrame(
        {"video": ["cam1"] * 3, "start": [0.0, 6.0, 16.0], "end": [6.0, 12.0, 20.0], "label": ["a", "b", "a"]}
    )
    segments.to_csv(tmp_path / "segments.csv", index=False)
    return windows_from_segments(tmp_path / "recs", tmp_path / "segments.csv", window=20, stride=5)


def test_sessions_hold_the_recordings_frames_cut_at_the_unlabelled_gap(windows):
    shuffled = windows.subset(np.random.default_rng(0).permutation(windows.n_samples))
    first, second = sessions_from_windows(shuffled)
    # joint 0's x is the frame number: each session is an unbroken stretch of the recording
    for session, start in ((first, 0), (second, int(second.name.split("@")[1]))):
        np.testing.assert_array_equal(session.frames[:, 0, 0], np.arange(start, start + len(session.frames)))
    assert first.name == "cam1@0" and len(first.frames) == 130  # the last window before the gap: 110-129
    assert second.frames[-1, 0, 0] == 199
    # labels change where the windows' centres say (b starts at frame 60)
    assert [label for label, _, _ in first.segments] == ["a", "b"] and abs(first.segments[1][1] - 60) <= 5
    assert first.segments[0][1] == 0 and first.segments[-1][2] == 130
    assert [label for label, _, _ in second.segments] == ["a"]


def test_windows_without_start_frames_give_no_sessions(windows):
    assert sessions_from_windows(replace(windows, meta={})) == []
    assert sessions_from_windows(replace(windows, groups=None)) == []


def test_windows_that_disagree_on_a_shared_frame_are_refused_by_name(windows):
    X = windows.X.copy()
    X[3, 0, 0, 0] += 1.0  # window 3 starts inside window 2
    with pytest.raises(DataError, match="window cam1@15 differs"):
        sessions_from_windows(replace(windows, X=X))


def test_start_frames_that_are_not_whole_numbers_are_refused_by_sample(windows):
    starts = windows.meta["start_frame"].astype(object)
    starts[2] = "soon"
    with pytest.raises(DataError, match="sample cam1@10 has meta start_frame 'soon'"):
        sessions_from_windows(replace(windows, meta={"start_frame": starts}))


def test_a_far_start_frame_makes_its_own_session_without_filling_the_distance(windows):
    starts = windows.meta["start_frame"].copy()
    starts[-1] = 10**12  # a frame index no recording reaches: the span in between is never allocated
    sessions = sessions_from_windows(replace(windows, meta={"start_frame": starts}))
    assert sessions[-1].name == f"cam1@{10**12}" and len(sessions[-1].frames) == 20 and len(sessions) == 3
