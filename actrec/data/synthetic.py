"""A keypoint dataset actrec generates itself, for the demo and the tests.

Each recording is one simulated person filmed by a fixed camera: a 3D stick figure (body size and
proportions vary) performs several activities one after another (stand, walk, sit, fall, wave),
with blended transitions, at varied speeds, seen from a random heading, elevation and in-plane
roll under weak perspective, then projected to 2D COCO-17 pixel coordinates with detector-like
jitter, missing joints and whole missing frames (NaN). Segment annotations say which activity
runs when, so the recordings go through the same `segments CSV -> windows` path as real data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from actrec.io.atomic import atomic_path
from actrec.io.recording import Recording, save_recording

ACTIVITIES = ("stand", "walk", "sit", "fall", "wave")
SCHEMA = "coco17"
_ANGLES = (
    "hip_l", "hip_r", "knee_l", "knee_r",
    "shoulder_abd_l", "shoulder_abd_r", "shoulder_flex_l", "shoulder_flex_r",
    "forearm_abd_l", "forearm_abd_r", "forearm_flex_l", "forearm_flex_r",
    "torso_pitch", "torso_roll", "fall_pitch", "fall_roll",
)  # fmt: skip
_DEG = np.pi / 180.0


def generate_recordings(
    n_recordings: int,
    seed: int,
    fps: float = 30.0,
    duration_s: float = 60.0,
    activities: tuple[str, ...] = ACTIVITIES,
) -> tuple[list[Recording], pd.DataFrame]:
    """Simulate `n_recordings` continuous recordings of about `duration_s` seconds each.

    Returns the recordings (keypoints `[T, 17, 2]` float32 pixels, NaN where undetected, schema
    `coco17`, source `synthetic_NNN`) and their segments: a DataFrame with columns
    `video, start, end, label` in seconds. Deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    recordings, segments = [], []
    for number in range(n_recordings):
        name = f"synthetic_{number:03d}"
        recording, rows = _simulate(name, rng, fps, duration_s, activities)
        recordings.append(recording)
        segments += rows
    return recordings, pd.DataFrame(segments, columns=["video", "start", "end", "label"])


def write_synthetic(
    out_dir: str | Path, n_recordings: int = 40, seed: int = 0, fps: float = 30.0, duration_s: float = 60.0
) -> Path:
    """Write `recordings/<video>.npz` and `segments.csv` (seconds) under `out_dir`; returns it."""
    out = Path(out_dir)
    recordings, segments = generate_recordings(n_recordings, seed, fps=fps, duration_s=duration_s)
    for recording in recordings:
        save_recording(out / "recordings" / f"{recording.source}.npz", recording)
    with atomic_path(out / "segments.csv") as tmp:
        segments.to_csv(tmp, index=False, float_format="%.4f")
    return out


def _simulate(
    name: str, rng: np.random.Generator, fps: float, duration_s: float, activities: tuple[str, ...]
) -> tuple[Recording, list]:
    plan, rows, start = [], [], 0
    total = int(round(duration_s * fps))
    previous = None
    while start < total:
        label = rng.choice([a for a in activities if a != previous] or list(activities))
        seconds = rng.uniform(1.5, 4.0) if label == "fall" else rng.uniform(3.0, 9.0)
        n = min(max(int(seconds * fps), 1), total - start)
        plan.append((label, n))
        rows.append([name, start / fps, (start + n) / fps, label])
        start += n
        previous = label
    body = _body(rng)
    angles, position, heading = _trajectories(plan, rng, fps)
    joints = _pose(angles, body)  # [T, 17, 3], pelvis at origin, facing +z
    world = _place(joints, position, heading)
    keypoints = _film(world, body, rng)
    keypoints = _detector_noise(keypoints, rng, fps)
    present = np.isfinite(keypoints).all(-1).any(-1)
    recording = Recording(keypoints, present, fps, np.arange(len(keypoints)), SCHEMA, name)
    return recording, rows


def _body(rng: np.random.Generator) -> dict[str, float]:
    """Segment lengths in metres for one person (height 1.45-1.95 m, proportions +-6%)."""
    height = rng.uniform(1.45, 1.95)
    vary = lambda share: share * height * rng.uniform(0.94, 1.06)
    return {
        "height": height, "thigh": vary(0.245), "shin": vary(0.246), "torso": vary(0.30),
        "head": vary(0.10), "upper_arm": vary(0.186), "forearm": vary(0.25),
        "hip_half": vary(0.095), "shoulder_half": vary(0.13),
    }  # fmt: skip


def _trajectories(
    plan: list[tuple[str, int]], rng: np.random.Generator, fps: float
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Joint angles (radians) per frame, ground position `[T, 2]` (x, z metres) and heading
    (radians), with blended transitions between activities (longer after a fall: getting up).
    Walks follow circles of 1-2 m radius, heading home when far, so people stay in view."""
    parts, positions, headings = [], [], []
    heading, position = rng.uniform(-np.pi, np.pi), rng.uniform(-1, 1, 2)
    for label, n in plan:
        t = np.arange(n) / fps
        params, speed = _ACTIVITY[label](t, rng)
        parts.append({key: np.broadcast_to(np.asarray(params[key], dtype=float), (n,)) for key in _ANGLES})
        turn = 0.0
        if label == "walk":
            if np.hypot(*position) > 1.5:
                heading = np.arctan2(-position[0], -position[1]) + rng.uniform(-0.5, 0.5)
            turn = rng.choice([-1, 1]) * speed / rng.uniform(1.0, 2.0)
        path_heading = heading + turn * t
        step = np.stack([np.sin(path_heading), np.cos(path_heading)], -1) * speed / fps
        path = position + np.cumsum(step, axis=0)
        positions.append(path)
        headings.append(path_heading)
        heading, position = path_heading[-1], path[-1]
    angles = {key: parts[0][key].copy() for key in _ANGLES}
    for (_, n), previous_label, part in zip(plan[1:], [p[0] for p in plan], parts[1:]):
        blend = int((1.0 if previous_label == "fall" else 0.4) * fps)
        ramp = np.clip(np.arange(n) / max(blend, 1), 0, 1)
        ramp = ramp * ramp * (3 - 2 * ramp)
        for key in _ANGLES:
            last = angles[key][-1]
            angles[key] = np.concatenate([angles[key], last + (part[key] - last) * ramp])
    return angles, np.concatenate(positions), np.concatenate(headings)


# joint angles of a segment (radians): one per frame, or one held for the whole segment
Angles = dict[str, np.ndarray | float]


def _base(n: int, rng: np.random.Generator) -> Angles:
    """Relaxed standing with slow sway: the start of every activity."""
    t = np.arange(n)
    sway = lambda amp: amp * _DEG * np.sin(2 * np.pi * t / rng.uniform(60, 150) + rng.uniform(0, 6.3))
    params: Angles = {key: np.zeros(n) for key in _ANGLES}
    for side in "lr":
        params[f"shoulder_abd_{side}"] = rng.uniform(4, 14) * _DEG + sway(3)
        params[f"shoulder_flex_{side}"] = rng.uniform(-5, 10) * _DEG + sway(3)
        params[f"forearm_abd_{side}"] = params[f"shoulder_abd_{side}"] + rng.uniform(-3, 6) * _DEG
        params[f"forearm_flex_{side}"] = params[f"shoulder_flex_{side}"] + rng.uniform(5, 25) * _DEG
        params[f"knee_{side}"] = rng.uniform(0, 8) * _DEG + np.abs(sway(2))
        params[f"hip_{side}"] = params[f"knee_{side}"] * 0.5
    params["torso_pitch"] = rng.uniform(-4, 8) * _DEG + sway(2)
    params["torso_roll"] = sway(3)
    return params


def _stand(t: np.ndarray, rng: np.random.Generator) -> tuple[Angles, float]:
    params = _base(len(t), rng)
    if rng.random() < 0.3:  # shifting weight or gesturing a little: not every stand is still
        side = rng.choice(["l", "r"])
        params[f"forearm_flex_{side}"] += rng.uniform(20, 70) * _DEG
    return params, 0.0


def _walk(t: np.ndarray, rng: np.random.Generator) -> tuple[Angles, float]:
    params = _base(len(t), rng)
    cadence = rng.uniform(0.7, 1.1)  # strides per second
    stride = rng.uniform(12, 28) * _DEG
    phase = 2 * np.pi * cadence * t + rng.uniform(0, 2 * np.pi)
    for side, sign in (("l", 1.0), ("r", -1.0)):
        swing = sign * np.sin(phase)
        params[f"hip_{side}"] = stride * swing
        params[f"knee_{side}"] = np.maximum(0, 1.6 * stride * np.sin(phase * sign + 1.2)) + 5 * _DEG
        params[f"shoulder_flex_{side}"] = -0.8 * stride * swing
        params[f"forearm_flex_{side}"] = params[f"shoulder_flex_{side}"] + rng.uniform(10, 30) * _DEG
    params["torso_pitch"] += rng.uniform(2, 6) * _DEG
    speed = cadence * 2 * (2 * 0.9 * np.sin(stride))  # two steps per stride, ~0.9 m legs
    return params, float(speed)


def _sit(t: np.ndarray, rng: np.random.Generator) -> tuple[Angles, float]:
    params = _base(len(t), rng)
    for side in "lr":
        params[f"hip_{side}"] = rng.uniform(70, 100) * _DEG + params[f"hip_{side}"] * 0.2
        params[f"knee_{side}"] = params[f"hip_{side}"] + rng.uniform(-15, 20) * _DEG
        params[f"shoulder_flex_{side}"] = rng.uniform(10, 40) * _DEG
        params[f"forearm_flex_{side}"] = params[f"shoulder_flex_{side}"] + rng.uniform(30, 70) * _DEG
    params["torso_pitch"] += rng.uniform(-10, 15) * _DEG
    return params, 0.0


def _fall(t: np.ndarray, rng: np.random.Generator) -> tuple[Angles, float]:
    params = _base(len(t), rng)
    drop = np.clip(t / rng.uniform(0.5, 1.1), 0, 1) ** 2
    angle = rng.uniform(75, 92) * _DEG * rng.choice([-1, 1])
    params["fall_pitch" if rng.random() < 0.6 else "fall_roll"] = angle * drop
    for side in "lr":
        reach = rng.uniform(30, 100) * _DEG * drop
        params[f"shoulder_abd_{side}"] += reach
        params[f"forearm_abd_{side}"] += reach * rng.uniform(0.8, 1.3)
        params[f"hip_{side}"] += rng.uniform(0, 30) * _DEG * drop
        params[f"knee_{side}"] += rng.uniform(0, 40) * _DEG * drop
    return params, 0.0


def _wave(t: np.ndarray, rng: np.random.Generator) -> tuple[Angles, float]:
    params = _base(len(t), rng)
    sides = ["l", "r"] if rng.random() < 0.2 else [rng.choice(["l", "r"])]
    rate = rng.uniform(1.2, 2.5)
    for side in sides:
        raise_angle = rng.uniform(60, 110) * _DEG
        params[f"shoulder_abd_{side}"] = raise_angle
        params[f"shoulder_flex_{side}"] = rng.uniform(0, 30) * _DEG
        swing = rng.uniform(15, 35) * _DEG * np.sin(2 * np.pi * rate * t)
        params[f"forearm_abd_{side}"] = raise_angle + rng.uniform(50, 80) * _DEG + swing
        params[f"forearm_flex_{side}"] = params[f"shoulder_flex_{side}"]
    return params, 0.0


_ACTIVITY = {"stand": _stand, "walk": _walk, "sit": _sit, "fall": _fall, "wave": _wave}


def _direction(abduction: np.ndarray, flexion: np.ndarray, side: float) -> np.ndarray:
    """Unit `[T, 3]` limb direction: hanging down, swung out sideways by `abduction` and forward by
    `flexion` (body frame: x = subject's left, y = up, z = forward)."""
    d = np.stack(
        [side * np.sin(abduction) * np.cos(flexion), -np.cos(abduction) * np.cos(flexion), np.sin(flexion)], -1
    )
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _pose(a: dict[str, np.ndarray], body: dict[str, float]) -> np.ndarray:
    """`[T, 17, 3]` COCO-17 joints in the body frame, pelvis at the origin."""
    n = len(a["hip_l"])
    joints = np.zeros((n, 17, 3))
    pitch, roll = a["torso_pitch"], a["torso_roll"]
    up = np.stack([np.sin(roll), np.cos(pitch) * np.cos(roll), np.sin(pitch) * np.cos(roll)], -1)
    neck = body["torso"] * up
    forward = np.stack([np.zeros(n), -np.sin(pitch), np.cos(pitch)], -1)
    left = np.array([1.0, 0.0, 0.0])
    head = neck + body["head"] * up
    joints[:, 0] = head + 0.06 * forward
    for eye, ear, sign in ((1, 3, 1.0), (2, 4, -1.0)):
        joints[:, eye] = head + 0.08 * up * 0.3 + 0.045 * forward + sign * 0.032 * left
        joints[:, ear] = head - 0.01 * forward + sign * 0.075 * left
    for side, sign, shoulder, elbow, wrist, hip, knee, ankle in (
        ("l", 1.0, 5, 7, 9, 11, 13, 15),
        ("r", -1.0, 6, 8, 10, 12, 14, 16),
    ):
        joints[:, shoulder] = neck + sign * body["shoulder_half"] * left
        joints[:, elbow] = joints[:, shoulder] + body["upper_arm"] * _direction(
            a[f"shoulder_abd_{side}"], a[f"shoulder_flex_{side}"], sign
        )
        joints[:, wrist] = joints[:, elbow] + body["forearm"] * _direction(
            a[f"forearm_abd_{side}"], a[f"forearm_flex_{side}"], sign
        )
        joints[:, hip] = sign * body["hip_half"] * left
        thigh = _direction(np.zeros(n), a[f"hip_{side}"], sign)
        joints[:, knee] = joints[:, hip] + body["thigh"] * thigh
        shin = _direction(np.zeros(n), a[f"hip_{side}"] - a[f"knee_{side}"], sign)
        joints[:, ankle] = joints[:, knee] + body["shin"] * shin
    return _rotate(_rotate(joints, a["fall_pitch"], axis=0), a["fall_roll"], axis=2)


def _rotate(points: np.ndarray, angle: np.ndarray, axis: int) -> np.ndarray:
    """Rotate `[T, J, 3]` points by a per-frame angle about the x (0), y (1) or z (2) axis."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out = points.copy()
    out[..., i] = c * points[..., i] - s * points[..., j]
    out[..., j] = s * points[..., i] + c * points[..., j]
    return out


def _place(joints: np.ndarray, position: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """Turn to `heading`, stand on the ground (lowest joint at y = 0) at `position` (x, z)."""
    world = _rotate(joints, heading, axis=1)
    world[..., 1] -= world[..., 1].min(axis=1, keepdims=True)
    world[..., 0] += position[:, None, 0]
    world[..., 2] += position[:, None, 1]
    return world


def _film(world: np.ndarray, body: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Weak-perspective camera with random azimuth, elevation, roll, distance and image placement:
    `[T, J, 3]` metres -> `[T, J, 2]` pixels (y down)."""
    camera = _rotate(world, np.full(len(world), rng.uniform(-np.pi, np.pi)), axis=1)
    camera = _rotate(camera, np.full(len(world), rng.uniform(0, 25) * _DEG), axis=0)
    distance = rng.uniform(6, 10)
    pixels_per_metre = rng.uniform(120, 260) * 7.0 / distance
    depth_scale = distance / np.maximum(distance + camera[..., 2:3], 0.6 * distance)
    x = camera[..., 0:1] * depth_scale * pixels_per_metre
    y = -camera[..., 1:2] * depth_scale * pixels_per_metre
    image = np.concatenate([x, y], -1)
    roll = rng.uniform(-8, 8) * _DEG
    rotation = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    return image @ rotation.T + np.array([rng.uniform(400, 880), rng.uniform(450, 600)])


def _detector_noise(keypoints: np.ndarray, rng: np.random.Generator, fps: float) -> np.ndarray:
    """Pixel jitter, single missing joints, runs of a missing joint, and missing frames (NaN)."""
    n, n_joints, _ = keypoints.shape
    size = np.nanmedian(np.ptp(keypoints[..., 1], axis=1))
    out = keypoints + rng.normal(0, rng.uniform(0.004, 0.012) * size, keypoints.shape)
    missing = rng.random((n, n_joints)) < rng.uniform(0.005, 0.04)
    for _ in range(rng.poisson(n / 120)):
        start, joint = rng.integers(n), rng.integers(n_joints)
        missing[start : start + rng.integers(3, 25), joint] = True
    missing |= np.asarray(rng.random(n) < 0.005)[:, None]
    for _ in range(rng.poisson(n / 900)):
        start = rng.integers(n)
        missing[start : start + rng.integers(5, int(1.5 * fps)), :] = True
    out[missing] = np.nan
    return out.astype(np.float32)
