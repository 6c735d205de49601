"""Keypoint extraction with MediaPipe on Debian's vtest.avi (people walking across a courtyard).

The people in vtest.avi are small in a wide shot, so the tests crop to the region two of them walk
through in the first frames (`PEOPLE`), as a user would with `--crop`.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.errors import ConfigError, DataError
from actrec.extract.core import Crop, extract_video
from actrec.extract.detectors import import_solutions
from actrec.io.recording import load_recording
from actrec.jobs.extract_videos import extract_videos, plan_outputs

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
PEOPLE = Crop(540, 180, 228, 256)

MISSING = [name for name in ("cv2", "mediapipe") if importlib.util.find_spec(name) is None]
MISSING += [] if VTEST.is_file() else [str(VTEST)]
needs_video = pytest.mark.skipif(
    bool(MISSING), reason=f"missing {', '.join(MISSING)}; scripts/install-video.sh installs them"
)


def write_clip(path: Path, n_frames: int) -> Path:
    """The first `n_frames` of vtest.avi cropped to `PEOPLE`, as an MJPEG .avi at 10 fps."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    source = cv2.VideoCapture(str(VTEST))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (PEOPLE.width, PEOPLE.height))
    for _ in range(n_frames):
        ok, frame = source.read()
        assert ok
        writer.write(
            np.ascontiguousarray(frame[PEOPLE.y : PEOPLE.y + PEOPLE.height, PEOPLE.x : PEOPLE.x + PEOPLE.width])
        )
    writer.release()
    source.release()
    return path


@needs_video
def test_pose_extraction_finds_33_joints_on_most_frames_of_walking_people():
    recording = extract_video(VTEST, "pose", crop=PEOPLE, max_frames=60)
    assert recording.keypoints.shape == (60, 33, 4)
    assert recording.schema == "mediapipe_pose"
    assert recording.fps == pytest.approx(10.0)
    assert recording.frame_index.tolist() == list(range(60))
    assert recording.present.mean() >= 0.8
    found = recording.keypoints[recording.present]
    assert np.isfinite(found).all()
    # full-frame pixels: inside (or at most a little outside) the cropped region
    assert PEOPLE.x - 20 <= np.median(found[..., 0]) <= PEOPLE.x + PEOPLE.width + 20
    assert PEOPLE.y - 20 <= np.median(found[..., 1]) <= PEOPLE.y + PEOPLE.height + 20
    assert ((found[..., 3] >= 0) & (found[..., 3] <= 1)).all()
    assert np.isnan(recording.keypoints[~recording.present]).all()


@needs_video
def test_frames_without_a_detection_are_masked_not_dropped():
    # on the whole wide frame the people are too small for MediaPipe: rows stay, as NaN
    recording = extract_video(VTEST, "pose", max_frames=15)
    assert recording.n_frames == 15
    assert not recording.present.all()
    assert np.isnan(recording.keypoints[~recording.present]).all()


@needs_video
@pytest.mark.parametrize(
    "detector, schema, joints", [("hands", "mediapipe_hand", 21), ("holistic", "mediapipe_holistic", 75)]
)
def test_hand_and_holistic_detectors_give_their_schema_shapes(detector, schema, joints):
    recording = extract_video(VTEST, detector, crop=PEOPLE, max_frames=5)
    assert recording.keypoints.shape == (5, joints, 4)
    assert recording.schema == schema


@needs_video
def test_folder_extraction_reports_bad_videos_goes_on_and_resumes(tmp_path):
    videos, out = tmp_path / "videos", tmp_path / "out"
    write_clip(videos / "walk" / "a.avi", 12)
    (videos / "walk" / "empty.mp4").write_bytes(b"")
    (videos / "corrupt.avi").write_bytes(np.random.default_rng(1).bytes(5000))

    first = {o.video.name: o for o in extract_videos(videos, out, "pose")}
    assert first["a.avi"].status == "done" and first["a.avi"].frames == 12
    assert first["empty.mp4"].status == "failed" and "empty (0 bytes)" in first["empty.mp4"].message
    assert first["corrupt.avi"].status == "failed" and "cannot be opened" in first["corrupt.avi"].message
    written = out / "walk" / "a.npz"
    recording = load_recording(written)
    assert recording.keypoints.shape == (12, 33, 4) and recording.present.mean() >= 0.8

    stamp = written.stat().st_mtime_ns
    second = {o.video.name: o.status for o in extract_videos(videos, out, "pose")}
    assert second["a.avi"] == "skipped"
    assert written.stat().st_mtime_ns == stamp


@needs_video
def test_several_videos_run_in_parallel_processes(tmp_path):
    write_clip(tmp_path / "videos" / "a.avi", 6)
    write_clip(tmp_path / "videos" / "b.avi", 8)
    outcomes = extract_videos(tmp_path / "videos", tmp_path / "out", "pose", workers=2)
    assert sorted((o.video.name, o.status, o.frames) for o in outcomes) == [("a.avi", "done", 6), ("b.avi", "done", 8)]
    assert load_recording(tmp_path / "out" / "b.npz").n_frames == 8


@needs_video
def test_cli_prints_failures_and_exits_2_after_extracting_the_rest(tmp_path):
    write_clip(tmp_path / "videos" / "ok.avi", 4)
    (tmp_path / "videos" / "bad [red].avi").write_bytes(b"")  # brackets are printed, not read as markup
    result = CliRunner().invoke(
        app, ["extract", str(tmp_path / "videos"), "--out", str(tmp_path / "out"), "--max-frames", "3"]
    )
    assert result.exit_code == 2
    assert "bad [red].avi: video file is empty" in result.output
    assert "1 failed" in result.output
    assert load_recording(tmp_path / "out" / "ok.npz").n_frames == 3


def test_cli_rejects_an_unknown_detector_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["extract", str(tmp_path), "--out", str(tmp_path / "out"), "--detector", "face"])
    assert result.exit_code == 2
    assert "unknown detector 'face'; choose one of: pose, hands, holistic" in result.output


def test_bad_crop_text_is_refused():
    with pytest.raises(ConfigError, match="X,Y,WIDTH,HEIGHT"):
        Crop.parse("10,20,30")
    with pytest.raises(ConfigError, match="WIDTH, HEIGHT > 0"):
        Crop.parse("10,20,0,5")


@needs_video
def test_crop_outside_the_frame_and_clashing_outputs_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="outside the 768x576 frame"):
        extract_video(VTEST, "pose", crop=Crop(900, 0, 50, 50), max_frames=1)
    write_clip(tmp_path / "v" / "a.avi", 1)
    write_clip(tmp_path / "v" / "a.mp4", 1)
    with pytest.raises(DataError, match="would both write"):
        plan_outputs(tmp_path / "v", tmp_path / "out")


def test_missing_mediapipe_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    monkeypatch.setitem(sys.modules, "mediapipe.python", None)
    with pytest.raises(ConfigError, match=r"pip install --no-deps mediapipe==0\.10\.21"):
        import_solutions()
    (tmp_path / "clip.avi").write_bytes(b"")
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "clip.avi"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "needs MediaPipe, which is not installed" in result.output


@needs_video
def test_protobuf_7_is_reported_with_the_fix(monkeypatch):
    import google.protobuf

    monkeypatch.setattr(google.protobuf, "__version__", "7.36.2")
    with pytest.raises(ConfigError, match=r"does not work with protobuf 7\.36\.2.*'protobuf>=6\.31\.1,<7'"):
        import_solutions()
