"""`actrec extract --people` on OpenCV's vtest.avi: several people per frame, posed and tracked,
checked against hand-labelled frames (tests/extract/data/vtest_people.json)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from typer.testing import CliRunner

from actrec.cli import app
from actrec.errors import ConfigError
from actrec.io.recording import load_recording
from actrec.jobs.extract_videos import extract_videos

LABELS = json.loads((Path(__file__).parent / "data" / "vtest_people.json").read_text())
VTEST = Path(LABELS["video"])
FRAMES = 40
NEAR_PX = 30

MISSING = [name for name in ("cv2", "mediapipe") if importlib.util.find_spec(name) is None]
MISSING += [] if VTEST.is_file() else [str(VTEST)]
needs_video = pytest.mark.skipif(
    bool(MISSING), reason=f"missing {', '.join(MISSING)}; scripts/install-video.sh installs them"
)


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    out = tmp_path_factory.mktemp("people")
    result = CliRunner().invoke(
        app, ["extract", str(VTEST), "--out", str(out), "--people", "--max-frames", str(FRAMES)]
    )
    assert result.exit_code == 0, result.output
    return load_recording(out / "vtest.npz")


def torso_centres(recording, frame):
    """{track id: median (x, y) of the joints seen} of the people present at `frame`."""
    return {
        int(track): np.nanmedian(recording.keypoints[frame, column, :, :2], axis=0)
        for column, track in enumerate(recording.track_id)
        if recording.present[frame, column]
    }


@needs_video
def test_people_are_posed_in_full_frame_pixels_with_a_person_axis(people):
    assert people.keypoints.shape[0] == FRAMES and people.keypoints.shape[2:] == (33, 4)
    assert people.present.shape == (FRAMES, len(people.track_id)) and people.schema == "mediapipe_pose"
    # two or more people on most frames (three to five walk through these frames)
    assert (people.present.sum(axis=1) >= 2).mean() >= 0.7
    seen = people.keypoints[people.present]
    assert np.isnan(people.keypoints[~people.present]).all()
    assert 100 < np.nanmedian(seen[..., 0]) < 768 and 150 < np.nanmedian(seen[..., 1]) < 400


@needs_video
def test_track_ids_follow_the_hand_labelled_people(people):
    label_of_track: dict[int, str] = {}
    tracks_of_label: dict[str, list[int]] = {}
    for frame, labelled in LABELS["frames"].items():
        found = torso_centres(people, int(frame))
        names, tracks = list(labelled), list(found)
        distance = np.array(
            [[np.linalg.norm(found[t] - np.array(labelled[n])) for t in tracks] for n in names]
        ).reshape(len(names), len(tracks))
        matched = [(names[r], tracks[c]) for r, c in zip(*linear_sum_assignment(distance)) if distance[r, c] <= NEAR_PX]
        assert len(matched) >= 2, f"frame {frame}: labelled {labelled}, found {found}"
        for name, track in matched:
            # a track id never moves to another person
            assert label_of_track.setdefault(track, name) == name, (
                f"frame {frame}: track {track} was {label_of_track[track]}, now {name}"
            )
            tracks_of_label.setdefault(name, []).append(track)
    # D walks in at frame ~12 and is followed under one id through frames 25 and 39
    assert len(tracks_of_label.get("D", [])) == 2 and len(set(tracks_of_label["D"])) == 1


def test_people_mode_refuses_a_crop_or_another_detector(tmp_path):
    from actrec.extract.core import Crop

    with pytest.raises(ConfigError, match="leave out --detector and --crop"):
        extract_videos(tmp_path, tmp_path / "out", "hands", people=True)
    with pytest.raises(ConfigError, match="leave out --detector and --crop"):
        extract_videos(tmp_path, tmp_path / "out", crop=Crop(0, 0, 10, 10), people=True)


def test_people_mode_refuses_an_unknown_finder(tmp_path):
    with pytest.raises(ConfigError, match="unknown people finder 'hog'; choose one of: detector, motion, both"):
        extract_videos(tmp_path, tmp_path / "out", people=True, people_finder="hog")
