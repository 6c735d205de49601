"""Sources, sinks and the threaded runner: CSV columns by name, every video frame annotated,
drop-oldest under overload."""

import re
import time

import numpy as np
import pandas as pd
import pytest
import torch

from actrec.data.dataset import SequenceDataset
from actrec.errors import ConfigError, DataError
from actrec.recognizers import Recognizer
from actrec.stream.engine import Streamer
from actrec.stream.events import read_events
from actrec.stream.live import FrameQueue, run_stream, stream_source
from actrec.stream.sources import SourceFrame
from actrec.stream.stages import StageTime

torch.set_num_threads(1)
NAMES = ["acc_x", "acc_y", "acc_z", "gyro_x"]


@pytest.fixture(scope="module")
def sensor_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 10, len(NAMES))).astype(np.float32)
    X[::2, :, 0] += 2.0
    dataset = SequenceDataset(
        X=X,
        lengths=np.full(30, 10),
        y=np.arange(30) % 2,
        label_names=["rest", "move"],
        feature_names=NAMES,
        sample_rate_hz=20.0,
    )
    return Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(dataset)


@pytest.fixture(scope="module")
def pose_model():
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(20, 8, 33, 4)) * 5 + 100).astype(np.float32)
    X[..., 3] = 1.0
    dataset = SequenceDataset(
        X=X,
        lengths=np.full(20, 8),
        y=np.arange(20) % 2,
        label_names=["stand", "wave"],
        schema="mediapipe_pose",
        sample_rate_hz=10.0,
    )
    return Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(dataset)


@pytest.fixture
def cv2():
    """OpenCV, which only the video tests need: the CSV tests run without it."""
    return pytest.importorskip("cv2", reason="OpenCV is not installed (scripts/install-video.sh installs it)")


def write_video(cv2, path, n_frames, fps=10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    for i in range(n_frames):
        writer.write(np.full((48, 64, 3), (i * 5) % 255, np.uint8))
    writer.release()


def count_frames(cv2, path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_csv_source_matches_columns_by_name_and_streams_every_row(tmp_path, sensor_model):
    rng = np.random.default_rng(2)
    values = rng.normal(size=(50, len(NAMES))).astype(np.float32)
    table = pd.DataFrame(values, columns=NAMES)
    table.insert(0, "time", np.arange(50) / 20.0)
    table["comment"] = "x"
    table[["gyro_x", "comment", "acc_z", "time", "acc_x", "acc_y"]].to_csv(tmp_path / "session.csv", index=False)
    seen = []
    report, _ = stream_source(
        sensor_model,
        f"csv:{tmp_path / 'session.csv'}",
        events=str(tmp_path / "ev.jsonl"),
        fast=True,
        on_decision=lambda d: seen.append(d.probabilities),
    )
    assert report.frames == report.recognized == 50 and report.dropped == 0
    reference = Streamer(sensor_model)
    expected = np.stack([reference.push(row).probabilities for row in values])
    np.testing.assert_allclose(np.stack(seen), expected, atol=1e-6)
    assert len(read_events(tmp_path / "ev.jsonl")) == len(report.events)


def test_csv_missing_columns_are_named_in_one_line(tmp_path, sensor_model):
    pd.DataFrame({"time": [0.0, 0.05], "acc_x": [1, 2], "acc_y": [1, 2]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) acc_z, gyro_x") as error:
        stream_source(sensor_model, f"csv:{tmp_path / 'bad.csv'}", fast=True)
    assert "\n" not in str(error.value)


def test_csv_source_cannot_draw_a_video(tmp_path, sensor_model):
    pd.DataFrame({"time": [0.0], **{n: [0.0] for n in NAMES}}).to_csv(tmp_path / "one.csv", index=False)
    with pytest.raises(ConfigError, match="--out"):
        stream_source(sensor_model, f"csv:{tmp_path / 'one.csv'}", out=str(tmp_path / "x.mp4"))


def test_annotated_video_has_every_input_frame_even_when_recognition_drops(tmp_path, cv2, pose_model):
    from actrec.skeletons import get_schema
    from actrec.stream.sinks import AnnotatedVideo

    n_frames = 40
    rng = np.random.default_rng(3)
    frames = [SourceFrame(i, i / 1000.0, image=np.full((48, 64, 3), i, np.uint8)) for i in range(n_frames)]

    def slow_extract(image):
        time.sleep(0.01)
        keypoints = (rng.normal(size=(33, 4)) * 5 + 30).astype(np.float32)
        return None if image[0, 0, 0] % 7 == 0 else keypoints

    video = AnnotatedVideo(tmp_path / "out.mp4", 10.0, pose_model.label_names, get_schema("mediapipe_pose").bones)
    report = run_stream(Streamer(pose_model), frames, extract=slow_extract, video=video, queue_size=2)
    video.close()
    assert count_frames(cv2, tmp_path / "out.mp4") == n_frames == report.frames
    assert report.dropped > 0 and report.recognized + report.dropped == n_frames


def test_fast_replay_of_a_video_file_drops_nothing(tmp_path, cv2, pose_model):
    write_video(cv2, tmp_path / "in.mp4", 25)
    from actrec.stream.sources import VideoSource

    source = VideoSource(str(tmp_path / "in.mp4"))
    report = run_stream(
        Streamer(pose_model), source.frames(), fast=True, extract=lambda image: np.full((33, 4), 20.0, np.float32)
    )
    source.close()
    assert report.frames == report.recognized == 25 and report.dropped == 0


def test_stream_command_path_on_a_video_with_mediapipe(tmp_path, cv2, pose_model):
    pytest.importorskip("mediapipe", reason="MediaPipe is not installed (scripts/install-video.sh installs it)")
    write_video(cv2, tmp_path / "in.mp4", 20)
    out, events = tmp_path / "annotated.mp4", tmp_path / "events.jsonl"
    try:
        report, _ = stream_source(pose_model, str(tmp_path / "in.mp4"), out=str(out), events=str(events), fast=True)
    except ConfigError as error:  # MediaPipe present but unusable here
        pytest.skip(str(error))
    assert count_frames(cv2, out) == count_frames(cv2, tmp_path / "in.mp4") == report.frames
    assert events.exists()
    assert set(report.labels) <= {"unknown", "no one"}  # a blank video has nobody in it


def test_frame_queue_drops_oldest_or_blocks():
    dropping = FrameQueue(2, drop_oldest=True)
    for item in range(5):
        dropping.put(item)
    assert dropping.dropped == 3 and [dropping.get(), dropping.get()] == [3, 4]
    keeping = FrameQueue(2, drop_oldest=False)
    keeping.put(1)
    keeping.put(2)
    keeping.close()
    keeping.put(3)  # a closed queue never blocks the producer
    assert keeping.get() == 2 and keeping.dropped == 1


def test_stages_count_wall_and_cpu_time_of_the_thread_that_ran_them(pose_model):
    n_frames = 6

    def waiting_then_working(image):
        """10 ms asleep (wall, no CPU), then 10 ms of this thread's CPU."""
        time.sleep(0.01)
        started = time.thread_time()
        while time.thread_time() - started < 0.01:
            pass
        return np.full((33, 4), 20.0, np.float32)

    frames = [SourceFrame(i, i / 10.0, image=np.zeros((4, 4, 3), np.uint8)) for i in range(n_frames)]
    report = run_stream(Streamer(pose_model), frames, fast=True, extract=waiting_then_working)
    extract = report.stages["extract"]
    assert extract.wall >= 0.02 * n_frames and 0.01 * n_frames <= extract.cpu < extract.wall
    assert report.stages["recognize"].cpu > 0
    line = report.stage_line()
    assert line.startswith("decode ") and "ms a captured frame" in line
    wall, cpu = (float(value) for value in re.search(r"extract ([\d.]+) / ([\d.]+)", line).groups())
    assert wall >= 20.0 and 10.0 <= cpu < wall
    report.extract_stages = {"detect": StageTime(0.3, 0.2), "pose": StageTime(0.6, 0.5)}  # an extractor's own
    assert "detect 50.0 / 33.3, pose 100.0 / 83.3, recognize" in report.stage_line()
    assert "extract" not in report.stage_line()


def test_a_model_trained_from_arrays_streams_a_csv_by_column_order(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 6, 3)).astype(np.float32)
    model = Recognizer(model="gru", model_options={"hidden_sizes": [4], "dense": []}, epochs=1, seed=0).fit(
        X, np.arange(20) % 2
    )
    assert not model.feature_names
    values = rng.normal(size=(12, 3)).astype(np.float32)
    pd.DataFrame({"time": np.arange(12) / 10.0, "a": values[:, 0], "b": values[:, 1], "c": values[:, 2]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    seen = []
    stream_source(model, f"csv:{tmp_path / 's.csv'}", fast=True, on_decision=lambda d: seen.append(d.probabilities))
    reference = Streamer(model)
    np.testing.assert_allclose(
        np.stack(seen), np.stack([reference.push(row).probabilities for row in values]), atol=1e-6
    )
    pd.DataFrame({"time": [0.0, 0.1], "a": [1, 2], "b": [1, 2]}).to_csv(tmp_path / "narrow.csv", index=False)
    with pytest.raises(DataError, match=r"2 feature columns .* but the model takes 3"):
        stream_source(model, f"csv:{tmp_path / 'narrow.csv'}", fast=True)
