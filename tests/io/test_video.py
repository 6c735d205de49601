"""Reading video frames with OpenCV, and one-line errors for files that are not videos."""

import importlib.util
import sys

import numpy as np
import pytest

from actrec.errors import ConfigError, DataError
from actrec.io.video import VideoReader, find_videos, video_info

needs_cv2 = pytest.mark.skipif(
    importlib.util.find_spec("cv2") is None, reason="OpenCV is not installed (scripts/install-video.sh installs it)"
)


def write_video(path, n_frames=12, fps=8.0, size=(64, 48)):
    """An MJPEG .avi whose frame i is filled with grey level 20 * i."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 20 * i, dtype=np.uint8))
    writer.release()
    return path


@needs_cv2
def test_info_reports_fps_frame_count_and_size(tmp_path):
    info = video_info(write_video(tmp_path / "clip.avi"))
    assert info.fps == pytest.approx(8.0)
    assert info.frame_count == 12
    assert (info.width, info.height) == (64, 48)


@needs_cv2
def test_frames_come_in_order_as_bgr_uint8_and_stop_at_max_frames(tmp_path):
    path = write_video(tmp_path / "clip.avi")
    with VideoReader(path) as video:
        frames = list(video.frames())
    assert len(frames) == 12
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    levels = [float(frame.mean()) for frame in frames]
    assert levels == sorted(levels) and levels[-1] == pytest.approx(220, abs=3)
    with VideoReader(path) as video:
        assert len(list(video.frames(max_frames=5))) == 5


@needs_cv2
@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty \\(0 bytes\\)"), (np.random.default_rng(0).bytes(20_000), "cannot be opened as a video")],
    ids=["zero-byte", "random-bytes"],
)
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        video_info(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@needs_cv2
def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="video file not found"):
        VideoReader(tmp_path / "nope.mp4")


def test_missing_opencv_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ConfigError, match="pip install opencv-python-headless"):
        VideoReader(tmp_path / "clip.avi")


@needs_cv2
def test_find_videos_walks_folders_in_sorted_order(tmp_path):
    write_video(tmp_path / "wave" / "b.avi", n_frames=2)
    write_video(tmp_path / "fall" / "a.avi", n_frames=2)
    (tmp_path / "notes.txt").write_text("not a video")
    assert find_videos(tmp_path) == [tmp_path / "fall" / "a.avi", tmp_path / "wave" / "b.avi"]
    assert find_videos(tmp_path / "fall" / "a.avi") == [tmp_path / "fall" / "a.avi"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no video files"):
        find_videos(tmp_path / "empty")
