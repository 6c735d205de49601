"""Generated people walking through a frame with known identities, optionally behind pillars that
hide them for longer than a track lives, and MOT-style counts (identity switches, ids per person):
what the tracker's tests and `bench/people.py` measure tracking on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actrec.tracking.tracker import Detection

N_JOINTS = 17
APPEARANCE_BINS = 32


@dataclass
class WalkingPeople:
    """`detections[t]` the (shuffled, noisy, sometimes missed) detections of frame t and
    `truth[t]` the true person number of each of them."""

    detections: list[list[Detection]]
    truth: list[list[int]]


def walking_people(
    n_people: int = 4,
    frames: int = 200,
    width: int = 768,
    height: int = 576,
    miss_rate: float = 0.1,
    noise_px: float = 2.0,
    pillars: int = 0,
    seed: int = 0,
) -> WalkingPeople:
    """People `height / 6` tall walking in straight lines across the frame at 2-6 px per frame,
    entering and leaving at random times; paths cross. Each has a fixed joint layout in its box and
    clothes of their own colours (an appearance histogram, 10% noise a frame). `pillars` vertical
    bands 60-100 px wide hide whoever's box centre is behind them (15-50 frames at these speeds)."""
    rng = np.random.default_rng(seed)
    clothes = rng.dirichlet(np.full(APPEARANCE_BINS, 0.3), size=n_people)
    pillar_x = rng.uniform(0.15 * width, 0.85 * width, size=pillars)
    pillar_half = rng.uniform(30, 50, size=pillars)
    person_height = height / 6
    layouts = rng.uniform(0.1, 0.9, size=(n_people, N_JOINTS, 2))
    starts = rng.uniform([0, 0], [width, height - person_height], size=(n_people, 2))
    speeds = rng.uniform(2, 6, size=n_people) * rng.choice([-1, 1], size=n_people)
    slopes = rng.uniform(-0.5, 0.5, size=n_people)
    enter = rng.integers(0, frames // 3, size=n_people)
    leave = rng.integers(2 * frames // 3, frames, size=n_people)
    detections: list[list[Detection]] = []
    truth: list[list[int]] = []
    for t in range(frames):
        found = []
        for person in range(n_people):
            if not enter[person] <= t < leave[person] or rng.random() < miss_rate:
                continue
            steps = t - enter[person]
            x = starts[person, 0] + speeds[person] * steps  # may walk out of the frame: boxes still move on
            y = float(np.clip(starts[person, 1] + slopes[person] * speeds[person] * steps, 0, height - person_height))
            box = np.array([x, y, x + person_height / 2.5, y + person_height])
            if (np.abs((box[0] + box[2]) / 2 - pillar_x) < pillar_half).any():
                continue
            appearance = clothes[person] * rng.uniform(0.9, 1.1, APPEARANCE_BINS)
            joints = box[:2] + layouts[person] * (box[2:] - box[:2]) + rng.normal(0, noise_px, size=(N_JOINTS, 2))
            keypoints = np.concatenate([joints, np.ones((N_JOINTS, 1))], axis=1)
            found.append(
                (person, Detection(box + rng.normal(0, noise_px, 4), keypoints, appearance / appearance.sum()))
            )
        order = rng.permutation(len(found))
        detections.append([found[i][1] for i in order])
        truth.append([found[i][0] for i in order])
    return WalkingPeople(detections, truth)


def identity_switches(truth: list[list[int]], predicted: list[list[int]]) -> int:
    """How often a true person's track id differs from the id they had when last seen, plus how
    often a track id jumps to another person (the MOT identity-switch count, both directions).
    Ids of 0 or less (a tentative track, not reported yet) are not counted."""
    last_id: dict[int, int] = {}
    last_person: dict[int, int] = {}
    switches = 0
    for people, ids in zip(truth, predicted):
        for person, track in zip(people, ids):
            if track <= 0:
                continue
            if (person in last_id and last_id[person] != track) or (
                track in last_person and last_person[track] != person
            ):
                switches += 1
            last_id[person], last_person[track] = track, person
    return switches


def ids_per_person(truth: list[list[int]], predicted: list[list[int]]) -> float:
    """Mean number of distinct track ids a true person was given (1.0: never fragmented); ids of 0
    or less (tentative) are not counted."""
    ids: dict[int, set[int]] = {}
    for people, tracks in zip(truth, predicted):
        for person, track in zip(people, tracks):
            if track > 0:
                ids.setdefault(person, set()).add(track)
    return float(np.mean([len(found) for found in ids.values()])) if ids else 0.0
