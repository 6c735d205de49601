"""A model trained on COCO-17 keypoints streams live MediaPipe pose output, mapped by joint name."""

from pathlib import Path

import numpy as np
import pytest

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer
from actrec.skeletons import get_schema
from actrec.skeletons.mapping import joint_index

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def test_coco17_joints_are_found_in_mediapipe_pose_by_name():
    pose, coco = get_schema("mediapipe_pose"), get_schema("coco17")
    index = joint_index(pose, coco)
    assert [pose.joints[i] for i in index] == coco.joints
    assert index[0] == pose.joints.index("nose") and index[-1] == pose.joints.index("right_ankle")


def test_missing_joints_give_no_mapping():
    assert joint_index(get_schema("mediapipe_hand"), get_schema("coco17")) is None


def test_coco17_model_streams_a_real_video_through_mediapipe_pose(tmp_path):
    pytest.importorskip("mediapipe", reason="MediaPipe is not installed (scripts/install-video.sh installs it)")
    cv2 = pytest.importorskip("cv2", reason="OpenCV is not installed (scripts/install-video.sh installs it)")
    if not VTEST.is_file():
        pytest.skip(f"{VTEST} is absent (scripts/install-video.sh unpacks it from Debian's opencv-doc)")
    from actrec.stream.live import stream_source

    clip = tmp_path / "walkers.mp4"
    capture = cv2.VideoCapture(str(VTEST))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (228, 256))
    for _ in range(24):  # people are small in the wide shot: keep the region where they walk
        _, frame = capture.read()
        writer.write(frame[180:436, 540:768])
    writer.release()
    capture.release()

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(24, 10, 17, 2)) * 20 + 100).astype(np.float32)
    data = SequenceDataset(
        X=X,
        lengths=np.full(24, 10),
        y=np.arange(24) % 2,
        label_names=["walk", "stand"],
        schema="coco17",
        sample_rate_hz=10.0,
    )
    model = Recognizer("gru", model_options={"hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(data)

    report, _ = stream_source(model, str(clip), out=str(tmp_path / "annotated.mp4"), fast=True)
    assert report.frames == 24
    assert set(report.labels) != {"no one"}  # poses were found and mapped onto the 17 joints
