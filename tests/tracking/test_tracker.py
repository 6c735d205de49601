"""The tracker: stable ids for people who walk, cross and miss detections; tracks end after N
missed frames; ids are reused only when a lost person is re-identified by their clothes."""

from __future__ import annotations

import numpy as np

from actrec.tracking import Detection, Tracker, TrackerConfig, box_iou
from actrec.tracking.synthetic import identity_switches, ids_per_person, walking_people


def track_all(people, config=None):
    tracker = Tracker(config)
    return [tracker.update(frame) for frame in people.detections]


def test_walking_people_keep_their_ids_through_crossings_and_missed_frames() -> None:
    people = walking_people(n_people=4, frames=150, miss_rate=0.1, seed=3)
    predicted = track_all(people)
    assert identity_switches(people.truth, predicted) <= 1
    # each true person is followed by one track id for most of their frames
    for person in range(4):
        ids = [track for truth, frame in zip(people.truth, predicted) for p, track in zip(truth, frame) if p == person]
        assert np.bincount(ids).max() >= 0.9 * len(ids)


def test_switch_count_sees_a_swap() -> None:
    truth = [[0, 1], [0, 1], [0, 1]]
    assert identity_switches(truth, [[1, 2], [1, 2], [1, 2]]) == 0
    assert identity_switches(truth, [[1, 2], [2, 1], [2, 1]]) == 2


def test_constant_velocity_keeps_a_fast_person_whose_boxes_no_longer_overlap() -> None:
    tracker = Tracker(TrackerConfig(min_iou=0.1))
    xs = [0, 6, 12] + list(range(24, 150, 12))  # speeds up from 6 to 12 px per frame
    ids = [tracker.update([Detection(np.array([x, 0.0, x + 10, 30]))])[0] for x in xs]
    assert set(ids) == {1}  # 12 px steps on a 10 px wide box: matched only through the prediction
    assert box_iou(np.array([0, 0, 10, 30]), np.array([12, 0, 22, 30]))[0, 0] == 0


def test_a_track_ends_after_max_missed_frames_and_its_id_is_not_reused() -> None:
    tracker = Tracker(TrackerConfig(max_missed=3))
    box = np.array([10.0, 10, 20, 40])
    assert tracker.update([Detection(box)]) == [1]
    for _ in range(3):
        assert tracker.update([]) == [] and tracker.ended == []
    tracker.update([])
    assert tracker.ended == [1] and tracker.tracks == []
    assert tracker.update([Detection(box)]) == [2]


def test_keypoints_separate_two_people_whose_boxes_overlap() -> None:
    rng = np.random.default_rng(0)
    layout_a, layout_b = rng.uniform(0, 1, (17, 2)), rng.uniform(0, 1, (17, 2))
    box = np.array([0.0, 0, 40, 100])

    def person(layout, shift):
        return Detection(box + [shift, 0, shift, 0], np.c_[layout * [40, 100] + [shift, 0], np.ones(17)])

    tracker = Tracker()
    first = tracker.update([person(layout_a, 0), person(layout_b, 4)])
    second = tracker.update([person(layout_b, 5), person(layout_a, 1)])
    assert second == first[::-1]


def test_people_hidden_behind_pillars_are_reidentified_with_fewer_switches_than_without() -> None:
    for seed in range(3):
        people = walking_people(n_people=6, frames=300, pillars=2, seed=seed)
        plain = track_all(
            people, TrackerConfig(reid_frames=0, max_appearance_distance=1.0)
        )  # the tracker before appearance
        reidentified = track_all(people)
        assert identity_switches(people.truth, reidentified) < identity_switches(people.truth, plain)
        assert ids_per_person(people.truth, reidentified) < ids_per_person(people.truth, plain)
        assert ids_per_person(people.truth, reidentified) <= 1.2


def test_a_lost_person_gets_their_id_back_only_if_they_look_the_same_and_are_near() -> None:
    red, blue = np.eye(4)[0] * 0.9 + 0.025, np.eye(4)[2] * 0.9 + 0.025  # Hellinger distance 0.81
    box = np.array([100.0, 100, 140, 200])

    def walk(appearance, frames, start=0):
        return [
            [Detection(box + [3 * (start + t), 0, 3 * (start + t), 0], appearance=appearance)] for t in range(frames)
        ]

    tracker = Tracker(TrackerConfig(max_missed=3, reid_frames=30))
    ids = [tracker.update(frame) for frame in walk(red, 10)]
    for _ in range(15):  # hidden for 15 frames: the track ends after 3
        tracker.update([])
    assert tracker.tracks == [] and len(tracker.lost) == 1
    assert tracker.update(walk(blue, 1, start=25)[0]) == [2]  # someone else where they should be
    assert tracker.update(walk(red, 1, start=26)[0]) == [1]  # they are back, 3 px a frame further on
    assert tracker.reidentified == 1 and ids[0] == [1]
    far = Tracker(TrackerConfig(max_missed=3, reid_frames=30))
    for frame in walk(red, 10):
        far.update(frame)
    for _ in range(5):
        far.update([])
    assert far.update([Detection(box + [500, 0, 500, 0], appearance=red)]) == [2]  # too far to be them


def test_a_person_found_again_before_their_track_ends_keeps_their_id_once_confirmed() -> None:
    red, blue = np.eye(4)[0] * 0.9 + 0.025, np.eye(4)[2] * 0.9 + 0.025
    box = np.array([100.0, 100, 140, 200])
    tracker = Tracker(TrackerConfig(confirm_hits=3, max_missed=10))
    walk_right = [tracker.update([Detection(box + [3 * t, 0, 3 * t, 0], appearance=red)]) for t in range(10)]
    assert walk_right[0] == [-1] and walk_right[1] == [-1] and walk_right[2] == [1]  # reported from the third match
    for _ in range(3):  # lost in a group: looked for, not found
        tracker.update([])
    # turned round while unseen: their box no longer overlaps where walking right would put them
    back = [tracker.update([Detection(box + [15 - 3 * t, 0, 15 - 3 * t, 0], appearance=red)]) for t in range(4)]
    assert back[0][0] < 0 and back[1][0] < 0  # tentative while it may be them
    assert back[2] == [1] and back[3] == [1] and tracker.renamed == {}
    assert tracker.reidentified == 1 and [track.track_id for track in tracker.tracks] == [1]
    # someone in other clothes in the same place is someone else
    for _ in range(3):
        tracker.update([])
    other = [tracker.update([Detection(box + [3 * t, 0, 3 * t, 0], appearance=blue)]) for t in range(3)]
    assert other[2] == [2]


def test_an_ambiguous_reappearance_gets_a_new_id_and_a_tentative_track_ends_at_its_first_miss() -> None:
    grey = np.full(4, 0.25)
    tracker = Tracker(TrackerConfig(confirm_hits=3, max_missed=10))
    boxes = [np.array([100.0, 100, 140, 200]), np.array([150.0, 100, 190, 200])]
    for _ in range(3):  # two people dressed alike, standing side by side
        ids = tracker.update([Detection(b, appearance=grey) for b in boxes])
    assert sorted(ids) == [1, 2]
    for _ in range(2):
        tracker.update([])
    # one of them is back between the two places: either could be them
    middle = [tracker.update([Detection(np.array([125.0, 100, 165, 200]), appearance=grey)]) for _ in range(3)]
    assert middle[2] == [3]
    tracker.update([Detection(np.array([400.0, 100, 440, 200]), appearance=grey)])
    tentative = tracker.tracks[-1].track_id
    assert tentative < 0
    tracker.update([Detection(np.array([125.0, 100, 165, 200]), appearance=grey)])
    assert tentative in tracker.ended and all(track.track_id != tentative for track in tracker.tracks)
    assert all(track.track_id > 0 for track in tracker.lost)
