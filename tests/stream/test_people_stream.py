"""Streaming several people: one Streamer per track, events with the right track ids, a person
who leaves has their open event closed, and the annotated video draws everyone."""

import numpy as np
import pytest
import torch

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer
from actrec.stream.events import EventWriter, event_segments, read_events
from actrec.stream.live import run_stream
from actrec.stream.people import people_streamer
from actrec.stream.sources import SourceFrame

torch.set_num_threads(1)
FPS = 10.0
TEMPLATE = np.random.default_rng(7).uniform(0, 100, size=(33, 2)).astype(np.float32)
ARMS = np.arange(13, 23)  # MediaPipe pose elbows, wrists and hand points


def pose(label, rng, offset=0.0):
    """`[33, 4]`: one body, arms raised when waving, at `offset` pixels to the right."""
    keypoints = np.ones((33, 4), np.float32)
    keypoints[:, :2] = TEMPLATE + rng.normal(size=(33, 2)) * 3 + [offset, 0]
    keypoints[:, 2] = 0.0
    if label == "wave":
        keypoints[ARMS, 1] -= 80
    return keypoints


@pytest.fixture(scope="module")
def pose_model():
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    X = np.stack(
        [np.stack([pose(["stand", "wave"][label], rng, offset=rng.uniform(0, 300)) for _ in range(8)]) for label in y]
    )
    dataset = SequenceDataset(
        X=X, lengths=np.full(40, 8), y=y, label_names=["stand", "wave"], schema="mediapipe_pose", sample_rate_hz=FPS
    )
    return Recognizer(model="gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=15, lr=1e-2, seed=0).fit(
        dataset
    )


def scripted_people(n_frames=90):
    """Track 4 stands (frames 0-39) then waves (40-89); track 9 walks in at frame 20, waves and
    leaves after frame 49. Returns {frame: {track: [33, 4]}}."""
    rng = np.random.default_rng(1)
    frames = {}
    for index in range(n_frames):
        people = {4: pose("stand" if index < 40 else "wave", rng)}
        if 20 <= index < 50:
            people[9] = pose("wave", rng, offset=250.0)
        frames[index] = people
    return frames


def test_each_person_gets_their_own_events_and_a_leaving_person_is_closed(tmp_path, pose_model):
    script = scripted_people()
    frames = [SourceFrame(i, i / FPS, image=np.full((8, 8, 3), i, np.uint8)) for i in range(90)]
    streamer = people_streamer(pose_model, leave_after_frames=10, runtime="numpy")
    with EventWriter(tmp_path / "events.jsonl") as writer:
        report = run_stream(
            streamer, frames, fast=True, extract=lambda image: script[int(image[0, 0, 0])], events=writer
        )
    events = read_events(tmp_path / "events.jsonl")
    assert len(events) == len(report.events) and {event.track for event in events} == {4, 9}
    per_track = {
        track: [(label, start, end) for label, start, end in event_segments([e for e in events if e.track == track])]
        for track in (4, 9)
    }
    assert [label for label, _, _ in per_track[4]] == ["stand", "wave"]
    assert [label for label, _, _ in per_track[9]] == ["wave"]
    (_, stand_start, stand_end), (_, wave_start, wave_end) = per_track[4]
    assert stand_start < 1.0 and 3.5 <= stand_end <= 5.0 and 3.5 <= wave_start <= 5.0 and wave_end == pytest.approx(8.9)
    _, start, end = per_track[9][0]
    assert 2.0 <= start <= 3.0  # track 9 appears at 2.0 s: its events are stamped in stream time
    # gone after frame 49: the end comes when the track has been missing for 10 frames, not at the stream's end
    assert 5.0 <= end <= 6.1
    ends = [e for e in events if e.track == 9 and e.type == "end"]
    assert ends[0].frame == round(end * FPS)
    assert "track" in (tmp_path / "events.jsonl").read_text().splitlines()[0]


def test_annotated_video_draws_every_frame_with_people(tmp_path, pose_model):
    cv2 = pytest.importorskip("cv2", reason="OpenCV is not installed (scripts/install-video.sh installs it)")
    from actrec.skeletons import get_schema
    from actrec.stream.sinks import AnnotatedVideo

    script = scripted_people(30)
    frames = [SourceFrame(i, i / FPS, image=np.full((400, 400, 3), i, np.uint8)) for i in range(30)]
    video = AnnotatedVideo(tmp_path / "out.mp4", FPS, pose_model.label_names, get_schema("mediapipe_pose").bones)
    run_stream(
        people_streamer(pose_model, runtime="numpy"),
        frames,
        fast=True,
        extract=lambda image: script[int(image[0, 0, 0])],
        video=video,
    )
    video.close()
    capture = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    count, last = 0, None
    while True:
        ok, image = capture.read()
        if not ok:
            break
        count, last = count + 1, image
    assert count == 30
    assert np.abs(last.astype(int) - 29).max() > 100  # skeletons and labels were drawn on the flat frame


def test_people_mode_needs_a_video_source(tmp_path, pose_model):
    from actrec.errors import ConfigError
    from actrec.stream.live import stream_source

    (tmp_path / "s.csv").write_text("time,a\n0,1\n")
    with pytest.raises(ConfigError, match="--people work on video frames"):
        stream_source(pose_model, f"csv:{tmp_path / 's.csv'}", people=True)


def test_stream_people_on_real_video_frames(tmp_path, pose_model):
    cv2 = pytest.importorskip("cv2", reason="OpenCV is not installed (scripts/install-video.sh installs it)")
    pytest.importorskip("mediapipe", reason="MediaPipe is not installed (scripts/install-video.sh installs it)")
    from pathlib import Path

    from actrec.stream.live import stream_source

    vtest = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    if not vtest.is_file():
        pytest.skip(f"{vtest} not found (Debian's opencv-doc ships it)")
    capture = cv2.VideoCapture(str(vtest))
    writer = cv2.VideoWriter(str(tmp_path / "hall.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (768, 576))
    for _ in range(20):
        writer.write(capture.read()[1])
    writer.release()
    capture.release()
    out, events = tmp_path / "annotated.mp4", tmp_path / "events.jsonl"
    report, _ = stream_source(
        pose_model, str(tmp_path / "hall.avi"), out=str(out), events=str(events), fast=True, people=True
    )
    assert report.frames == report.recognized == 20
    assert any(label.count(":") >= 2 for label in report.labels)  # two or more people followed at once
    assert all(event.track is not None for event in read_events(events))
    check = cv2.VideoCapture(str(out))
    assert int(check.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    check.release()


def test_each_person_is_a_fork_of_one_streamer_and_decides_as_a_stream_of_their_own():
    """People over a random-kernel model share the layout their template built (forked, not
    rebuilt, as a person appears) and each decides exactly what a Streamer fed their frames alone does."""
    from actrec.stream.engine import Streamer

    rng = np.random.default_rng(2)
    y = np.arange(24) % 2
    X = np.stack([np.stack([pose(["stand", "wave"][label], rng) for _ in range(8)]) for label in y])
    dataset = SequenceDataset(
        X=X, lengths=np.full(24, 8), y=y, label_names=["stand", "wave"], schema="mediapipe_pose", sample_rate_hz=FPS
    )
    kernel_model = Recognizer(seed=0).fit(dataset)
    script = scripted_people(60)
    people = people_streamer(kernel_model, leave_after_frames=10, runtime="numpy")
    alone = {4: Streamer(kernel_model, runtime="numpy"), 9: Streamer(kernel_model, runtime="numpy")}
    for index in range(60):
        decision = people.push(script[index], index / FPS)
        for track in script[index]:
            expected = alone[track].push(script[index][track], index / FPS)
            assert decision.people[track].label == expected.label
            np.testing.assert_allclose(decision.people[track].probabilities, expected.probabilities, atol=1e-6)
        assert all(
            person.streamer.model.kernel_positions is people.template.model.kernel_positions
            for person in people.tracks.values()
        )
