"""Generated wrist-IMU windows for bench/accuracy.py: a 3-axis accelerometer (g) and a 3-axis
gyroscope (rad/s) at 50 Hz, so 6 channels, seven activities.

Each window is one person doing one activity. The forearm's orientation puts gravity on the
accelerometer axes (hanging when standing, resting on the thigh when sitting, rolled when lying);
walking, stairs and running add a vertical bounce at the step rate whose harmonic mix is the
activity's (a soft push on the way up, sharp impacts on the way down and when running) plus an arm
swing at half the step rate, which the gyroscope sees as angular velocity. Cadences overlap between
walking and stairs, so the harmonic shape, not the rate, tells them apart.

A subject is who wears the sensor: their own mounting angle (every axis turned up to ~17 degrees),
cadence, vigour, gyroscope bias and noise, all drawn from the subject id alone. Train and test
take disjoint subject ids, so a model must generalise to people it has not seen, as with a real
wrist-IMU study split by subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actrec.data.dataset import SequenceDataset

RATE_HZ = 50.0
FOREARM_M = 0.3
GRAVITY_M_S2 = 9.81


@dataclass(frozen=True)
class Activity:
    """How one activity moves the wrist.

    pitch_rad / roll_rad: the forearm's resting orientation (pitch 0 = forearm horizontal).
    cadence_hz: range of steps per second (0 = no gait).
    bounce_g: vertical body acceleration amplitude at the step rate.
    harmonics: weights of the step rate's 1st, 2nd and 3rd harmonics in the bounce.
    swing_rad: arm swing amplitude (the arm swings once per two steps).
    """

    name: str
    pitch_rad: float
    roll_rad: float
    cadence_hz: tuple[float, float] = (0.0, 0.0)
    bounce_g: float = 0.0
    harmonics: tuple[float, float, float] = (0.0, 0.0, 0.0)
    swing_rad: float = 0.0


ACTIVITIES = (
    Activity("sit", pitch_rad=0.25, roll_rad=0.2),
    Activity("stand", pitch_rad=1.35, roll_rad=0.1),
    Activity("lie", pitch_rad=0.1, roll_rad=1.3),
    Activity("walk", 1.2, 0.1, cadence_hz=(1.5, 2.1), bounce_g=0.25, harmonics=(1.0, 0.4, 0.15), swing_rad=0.3),
    Activity("upstairs", 1.15, 0.15, cadence_hz=(1.3, 1.9), bounce_g=0.25, harmonics=(1.0, 0.28, 0.08), swing_rad=0.25),
    Activity("downstairs", 1.2, 0.15, cadence_hz=(1.5, 2.1), bounce_g=0.27, harmonics=(0.9, 0.5, 0.28), swing_rad=0.25),
    Activity("run", 0.6, 0.1, cadence_hz=(2.4, 3.1), bounce_g=0.7, harmonics=(1.0, 0.5, 0.3), swing_rad=0.6),
)


@dataclass(frozen=True)
class Subject:
    mounting: np.ndarray  # (3, 3) rotation from forearm to sensor axes
    cadence_scale: float
    vigour: float
    gyro_bias: np.ndarray  # (3,) rad/s
    noise_g: float


def subject(subject_id: int) -> Subject:
    """The wearer `subject_id`: the same id always gives the same person."""
    rng = np.random.default_rng([subject_id, 2026])
    return Subject(
        mounting=rotation(*rng.normal(scale=0.3, size=3)),
        cadence_scale=float(rng.uniform(0.9, 1.1)),
        vigour=float(rng.uniform(0.6, 1.4)),
        gyro_bias=rng.normal(scale=0.03, size=3),
        noise_g=float(rng.uniform(0.03, 0.08)),
    )


def rotation(roll: np.ndarray | float, pitch: np.ndarray | float, yaw: np.ndarray | float) -> np.ndarray:
    """Rotation matrices `(..., 3, 3)` = Rz(yaw) Ry(pitch) Rx(roll) for broadcastable angles."""
    roll, pitch, yaw = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (roll, pitch, yaw)))
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    return np.stack(
        [
            np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
            np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
            np.stack([-sp, cp * sr, cp * cr], -1),
        ],
        -2,
    )


def window(activity: Activity, wearer: Subject, steps: int, rng: np.random.Generator) -> np.ndarray:
    """One `(steps, 6)` window: accelerometer x, y, z (g) then gyroscope x, y, z (rad/s)."""
    low, high = activity.cadence_hz
    cadence = rng.uniform(low, high) * wearer.cadence_scale
    cadence_drift = cadence * (1 + np.cumsum(rng.normal(scale=0.004, size=steps)))  # no two steps alike
    phase = 2 * np.pi * np.cumsum(cadence_drift) / RATE_HZ + rng.uniform(0, 2 * np.pi)
    vigour = wearer.vigour * rng.uniform(0.8, 1.2)
    weights = np.clip(np.asarray(activity.harmonics) + rng.normal(scale=0.12, size=3), 0, None)
    offsets = rng.uniform(-0.4, 0.4, size=3)
    bounce = (
        activity.bounce_g * vigour * sum(w * np.sin(k * phase + o) for k, (w, o) in enumerate(zip(weights, offsets), 1))
    )
    surge = 0.4 * activity.bounce_g * vigour * np.sin(phase + np.pi / 2)
    sway = 0.25 * activity.bounce_g * vigour * np.sin(phase / 2)
    fidget = _fidget(steps, rng) if activity.bounce_g == 0 else np.zeros(steps)
    pitch = (
        activity.pitch_rad
        + rng.normal(scale=0.3)
        + activity.swing_rad * vigour * np.sin(phase / 2 + 0.3)
        + 0.01 * rng.standard_normal(steps)
        + fidget
    )
    roll = activity.roll_rad + rng.normal(scale=0.3) + 0.05 * activity.swing_rad * np.sin(phase / 2) + 0.5 * fidget
    yaw = 0.1 * activity.swing_rad * np.sin(phase / 2 + 1.0)
    forearm = rotation(roll, pitch, yaw)  # (steps, 3, 3) forearm -> world
    world_force = np.stack([surge, sway, 1.0 + bounce], -1)  # specific force: +1 g up at rest
    tangential = FOREARM_M * np.gradient(np.gradient(pitch, 1 / RATE_HZ), 1 / RATE_HZ) / GRAVITY_M_S2
    accel = np.einsum("tji,tj->ti", forearm, world_force) + np.stack([np.zeros(steps), np.zeros(steps), tangential], -1)
    turn = np.stack([np.gradient(angle, 1 / RATE_HZ) for angle in (roll, pitch, yaw)], -1)
    accel = accel @ wearer.mounting.T + rng.normal(scale=wearer.noise_g, size=(steps, 3))
    gyro = turn @ wearer.mounting.T + wearer.gyro_bias + rng.normal(scale=2 * wearer.noise_g, size=(steps, 3))
    return np.concatenate([accel, gyro], 1).astype(np.float32)


def _fidget(steps: int, rng: np.random.Generator) -> np.ndarray:
    """A still wrist's occasional small movement: one smooth bump of the forearm angle (radians)."""
    if rng.random() < 0.5:
        return np.zeros(steps)
    centre, width = rng.uniform(0, steps), rng.uniform(0.2, 0.8) * RATE_HZ
    return rng.normal(scale=0.3) * np.exp(-0.5 * ((np.arange(steps) - centre) / width) ** 2)


def sensor_windows(n_windows: int, subject_ids: range, steps: int, seed: int) -> SequenceDataset:
    """`n_windows` windows `(n_windows, steps, 6)` float32 of the activities in turn, worn by
    `subject_ids` in turn; groups are the subject ids, so splits can keep a person on one side."""
    rng = np.random.default_rng(seed)
    wearers = {sid: subject(sid) for sid in subject_ids}
    y = np.arange(n_windows) % len(ACTIVITIES)
    who = np.array(subject_ids)[rng.permutation(n_windows) % len(subject_ids)]
    X = np.stack([window(ACTIVITIES[label], wearers[sid], steps, rng) for label, sid in zip(y, who)])
    return SequenceDataset(
        X=X,
        lengths=np.full(n_windows, steps),
        y=y,
        groups=np.array([f"subject{sid:02d}" for sid in who]),
        label_names=[activity.name for activity in ACTIVITIES],
        sample_rate_hz=RATE_HZ,
        feature_names=["accel_x_g", "accel_y_g", "accel_z_g", "gyro_x_rad_s", "gyro_y_rad_s", "gyro_z_rad_s"],
        source=f"generated wrist-IMU windows (seed {seed})",
    )
