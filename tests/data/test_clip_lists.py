"""Clip lists from folders and CSVs, cuts, and decoding in worker processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actrec.data.clip_prepare import prepare_clips
from actrec.data.clips import load_clips
from actrec.errors import DataError
from actrec.io.clips import FrameCache, is_clip_spec
from tests.helpers.clip_data import NEEDS_OPENCV

pytest.importorskip("cv2", reason=NEEDS_OPENCV)


def test_a_clips_csv_gives_labels_groups_and_cuts(motion_clips: Path, tmp_path: Path) -> None:
    videos = sorted(motion_clips.rglob("*.mp4"))[:6]
    rows = ["path,label,group,start,end"] + [
        f"{video},{video.parent.name},g{i // 2},0.2,1.0" for i, video in enumerate(videos)
    ]
    csv = tmp_path / "clips.csv"
    csv.write_text("\n".join(rows) + "\n")
    assert is_clip_spec(csv) and is_clip_spec(motion_clips) and not is_clip_spec(tmp_path / "windows.npz")
    clips = load_clips(csv)
    assert clips.groups is not None and clips.groups.tolist()[:2] == ["g0", "g0"]
    frames = FrameCache(tmp_path / "cache", 24).frames(clips.paths[0], clips.span(0))
    assert len(frames) == 8  # 0.2 s to 1.0 s at 10 fps of a 16-frame video


def test_a_missing_video_in_the_csv_names_its_row(tmp_path: Path) -> None:
    csv = tmp_path / "clips.csv"
    csv.write_text("path,label\nnowhere.mp4,left\n")
    with pytest.raises(DataError, match="row 2"):
        load_clips(csv)


def test_workers_decode_the_same_frames(motion_clips: Path, tmp_path: Path) -> None:
    clips = load_clips(motion_clips).subset(np.arange(4))
    usable, messages = prepare_clips(clips, FrameCache(tmp_path / "cache", 24), min_frames=8, workers=2)
    assert usable.n_samples == 4 and not messages
    direct = FrameCache(tmp_path / "other", 24).frames(clips.paths[3])
    assert np.array_equal(np.asarray(FrameCache(tmp_path / "cache", 24).frames(clips.paths[3])), np.asarray(direct))


def test_each_video_is_decoded_once_and_later_runs_read_the_cache(
    motion_clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actrec.io import clips as clips_module
    from actrec.recognizers.clip import VideoRecognizer

    decoded: list[Path] = []
    decode = clips_module.decode_video
    monkeypatch.setattr(clips_module, "decode_video", lambda path, *args: decoded.append(path) or decode(path, *args))
    subset = load_clips(motion_clips).subset(np.arange(0, 120, 10))
    options = dict(
        model_options={"width": 4, "depth": 10},
        clip={"size": 24, "frames": 4, "cache": str(tmp_path / "cache")},
        epochs=2,
        batch_size=4,
    )
    VideoRecognizer("tsn", **options).fit(subset)
    assert sorted(decoded) == sorted(subset.paths)  # once each over two epochs and validation
    decoded.clear()
    VideoRecognizer("tsn", **options).fit(subset).predict_proba(subset)
    assert decoded == []
    assert isinstance(FrameCache(tmp_path / "cache", 24).frames(subset.paths[0]), np.memmap)
