"""Fuzz keypoint recordings (`.npz` per video) and the datasets built from them: segments CSV ->
sliding windows, and folders of clips.

Recordings start clean (keypoints [T, J, C], present, fps, frame_index, schema) and get defects:
a key dropped, or replaced by an array of another shape or dtype, NaN/zero/negative fps, frame
indexes that are NaN or huge; then maybe damaged bytes. See fuzzing.py for the property.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from actrec.data.segments import clips_from_folders, windows_from_segments
from actrec.io.recording import load_recording
from tests.fuzz.fuzzing import (
    ANY_SHAPE,
    DTYPES,
    TEXT,
    array_of,
    check_dataset,
    corrupted,
    csv_text,
    fuzz_settings,
    loads_or_fails_cleanly,
    mutated,
    scratch,
)

ODD_FPS = st.sampled_from([0.0, -30.0, np.nan, np.inf, 1e-300, 1e308]).map(np.float64)
ODD_VALUES = st.one_of(
    ODD_FPS,
    array_of(DTYPES, ANY_SHAPE),
    st.sampled_from(
        [
            np.array([np.nan, 1.0]),
            np.array([2**62, -(2**62)]),
            np.asarray(""),
            np.asarray("coco17"),
            np.array(["1", "x"]),
        ]
    ),
)


@st.composite
def recording_arrays(draw: st.DrawFn, joints: int | None = None, schema: str | None = None) -> dict[str, np.ndarray]:
    t = draw(st.integers(1, 12))
    j = joints if joints is not None else draw(st.integers(1, 3))
    keypoints = draw(hnp.arrays(np.float32, (t, j, 2), elements=st.floats(-2, 2, width=32)))
    present = draw(hnp.arrays(bool, (t,)))
    arrays = {
        "keypoints": keypoints,
        "present": present,
        "fps": np.float64(draw(st.sampled_from([30.0, 25.0, 10.0]))),
        "schema": np.asarray(schema or draw(st.sampled_from(["coco17", "mediapipe_hand", "pet.yaml"]))),
    }
    if draw(st.booleans()):
        arrays["frame_index"] = np.arange(t, dtype=np.int64) * draw(st.integers(1, 3))
    if draw(st.booleans()):
        return arrays
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(["keypoints", "present", "fps", "schema", "frame_index", "source"]))
        if draw(st.integers(0, 3)) == 0:
            arrays.pop(key, None)
        else:
            arrays[key] = draw(ODD_VALUES)
    return arrays


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


@fuzz_settings(300)
@given(arrays=recording_arrays(), data=st.data())
def test_recording_loads_or_fails_in_one_line(arrays, data):
    with scratch() as folder:
        path = folder / "walk_01.npz"
        path.write_bytes(data.draw(corrupted(npz_bytes(arrays))))
        recording = loads_or_fails_cleanly(lambda: load_recording(path), path)
        if recording is not None:
            t = recording.keypoints.shape[0]
            assert recording.keypoints.dtype == np.float32 and recording.keypoints.ndim == 3 and t >= 1
            assert recording.present.shape == (t,) and recording.present.dtype == bool
            assert recording.frame_index.shape == (t,) and recording.frame_index.dtype == np.int64
            assert np.isfinite(recording.fps) and recording.fps > 0
            assert np.isfinite(recording.times).all()


@st.composite
def segments_rows(draw: st.DrawFn, names: list[str]) -> bytes:
    header = draw(
        st.one_of(
            *[st.just(["video", "start", "end", "label"])] * 4,
            st.just(["start", "end", "label"]),
            st.lists(st.sampled_from(["video", "start", "end", "label", "", "extra"]), max_size=5),
        )
    )
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, 10))
        cells = {
            "video": draw(st.sampled_from(names + ["missing", f"{names[0]}.mp4"])),
            "start": str(start),
            "end": str(start + draw(st.integers(1, 8))),
            "label": draw(st.sampled_from(["walk", "sit"])),
        }
        rows.append([cells.get(name, "x") for name in header])
    odd = st.one_of(TEXT, st.sampled_from(["-1", "1e400", "inf", "nan", "3", "0.5", ""]))
    return draw(corrupted(csv_text(header, draw(mutated(rows, odd)))))


@fuzz_settings(150)
@given(data=st.data())
def test_windows_from_segments_build_or_fail_in_one_line(data):
    names = data.draw(st.lists(st.sampled_from(["walk_01", "sit_02", "v3"]), min_size=1, max_size=3, unique=True))
    joints = data.draw(st.integers(1, 3))
    with scratch() as folder:
        recordings = folder / "recordings"
        recordings.mkdir()
        files: list[Path] = []
        for name in names:
            files.append(recordings / f"{name}.npz")
            files[-1].write_bytes(
                data.draw(corrupted(npz_bytes(data.draw(recording_arrays(joints=joints, schema="coco17")))))
            )
        segments = folder / "segments.csv"
        segments.write_bytes(data.draw(segments_rows(names)))
        window, stride = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 4))
        unit = data.draw(st.sampled_from(["seconds", "frames"]))
        min_fraction = data.draw(st.sampled_from([0.5, 1.0, 0.01]))
        background = data.draw(st.sampled_from([None, "background", "walk"]))
        dataset = loads_or_fails_cleanly(
            lambda: windows_from_segments(
                recordings,
                segments,
                window=window,
                stride=stride,
                unit=unit,
                min_fraction=min_fraction,
                background=background,
            ),
            segments,
            recordings,
            *files,
        )
        if dataset is not None:
            check_dataset(dataset)


@fuzz_settings(100)
@given(data=st.data())
def test_clip_folders_build_or_fail_in_one_line(data):
    layout = data.draw(
        st.lists(
            st.tuples(st.sampled_from(["fall", "walk", "sit"]), st.sampled_from(["a", "b"])),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    with scratch() as folder:
        files = []
        for label, clip in layout:
            (folder / label).mkdir(exist_ok=True)
            files.append(folder / label / f"{clip}.npz")
            files[-1].write_bytes(
                data.draw(corrupted(npz_bytes(data.draw(recording_arrays(joints=2, schema="pet.yaml")))))
            )
        dataset = loads_or_fails_cleanly(lambda: clips_from_folders(folder), folder, *files)
        if dataset is not None:
            check_dataset(dataset)
