"""The people pipeline's output does not depend on thread timing or machine load: the finder's
thread (the person detector, or background subtraction) runs beside the poses, and its result must
be applied to the frame it was computed on however late it comes. Runs on OpenCV's vtest.avi with
the finder's thread and the poses delayed at random, against undelayed and single-threaded runs."""

import random
import time

import numpy as np
import pytest

from tests.helpers.people_video import VTEST, needs_video

FRAMES = 30

pytestmark = needs_video


@pytest.fixture(scope="module")
def frames():
    from actrec.io.video import VideoReader

    with VideoReader(VTEST) as video:
        return list(video.frames(FRAMES))


def people_per_frame(frames, finder, parallel=True):
    """`[{track_id: keypoints [33, 4]}]` a frame, and the landmark runs made."""
    from actrec.extract.people import PeopleConfig, PeoplePoser

    with PeoplePoser(PeopleConfig(finder=finder, parallel=parallel)) as poser:
        return [poser(frame) for frame in frames], poser.poses


def delayed(monkeypatch, seed):
    """Make the finder's thread late by 0-40 ms a frame and each pose by 0-10 ms (seeded; the
    threads then finish in either order from frame to frame)."""
    from actrec.extract.people import PeoplePoser

    rng = random.Random(seed)
    propose, pose = PeoplePoser._propose, PeoplePoser._pose

    def late_propose(self, *args):
        time.sleep(rng.uniform(0, 0.04))
        return propose(self, *args)

    def late_pose(self, *args):
        time.sleep(rng.uniform(0, 0.01))
        return pose(self, *args)

    monkeypatch.setattr(PeoplePoser, "_propose", late_propose)
    monkeypatch.setattr(PeoplePoser, "_pose", late_pose)


def assert_same(found, expected):
    assert len(found) == len(expected)
    for index, (people, reference) in enumerate(zip(found, expected)):
        assert list(people) == list(reference), f"frame {index}: ids {list(people)}, expected {list(reference)}"
        for track in people:
            np.testing.assert_array_equal(people[track], reference[track], err_msg=f"frame {index}, track {track}")


@pytest.mark.parametrize("finder", ["detector", "motion"])
def test_a_late_finder_thread_changes_nothing(frames, monkeypatch, finder):
    undelayed, poses = people_per_frame(frames, finder)
    assert sum(len(people) for people in undelayed) >= FRAMES  # people were found and followed: something to differ
    single_thread, single_poses = people_per_frame(frames, finder, parallel=False)
    assert_same(single_thread, undelayed)
    delayed(monkeypatch, seed=0)
    late, late_poses = people_per_frame(frames, finder)
    assert_same(late, undelayed)
    assert poses == single_poses == late_poses
