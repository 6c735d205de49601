"""A generated clip dataset whose classes differ in motion only.

Each clip shows one object (disc, square, triangle or ring, random colour and size) over a
random textured background with sensor noise. The class is how it moves: `left`, `right`,
`up`, `down` (straight, random speed and start) or `clockwise` / `counterclockwise` (a circle of
random centre, radius, speed and phase). Any single frame is an object somewhere on a background,
so a model must compare frames: an appearance-only model (TSN with one frame, the single-frame
baseline) stays near chance. Written as `OUT/<class>/<class>_<i>.mp4`, what `--data OUT` reads.
With shape classes (`classes=("disc", "ring")`) the class is the object's shape instead (a
larger object, moving straight in a random direction): a set one frame solves, on which an
appearance model such as TSN beats chance. TSN stays at chance on the motions whatever the
trajectories: its consensus averages per-frame scores, a sum of what each frame shows alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actrec.errors import ConfigError
from actrec.io.atomic import atomic_path

CLASSES = ("left", "right", "up", "down", "clockwise", "counterclockwise")
SHAPES = ("disc", "square", "triangle", "ring")
STEPS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """float `[size, size, 3]` in [0, 255]: a two-colour gradient at a random angle plus blotches."""
    yy, xx = np.mgrid[0:size, 0:size] / max(1, size - 1)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(1e-6, np.ptp(ramp))
    low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    image = low + ramp[..., None] * (high - low)
    coarse = rng.normal(0, 12, (4, 4, 3))
    blotches = np.kron(coarse, np.ones((size // 4 + 1, size // 4 + 1, 1)))[:size, :size]
    return np.clip(image + blotches, 0, 255)


def shape_mask(shape: str, size: int, cx: float, cy: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    dx, dy = xx - cx, yy - cy
    if shape == "disc":
        return dx**2 + dy**2 <= radius**2
    if shape == "ring":
        distance = np.sqrt(dx**2 + dy**2)
        return (distance <= radius) & (distance >= radius * 0.5)
    if shape == "square":
        return (np.abs(dx) <= radius * 0.85) & (np.abs(dy) <= radius * 0.85)
    return (dy <= radius * 0.8) & (dy >= -radius) & (np.abs(dx) <= (dy + radius) * 0.6)  # triangle, point up


def trajectory(label: str, frames: int, size: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """`[frames, 2]` object centres (x, y) in pixels, kept inside the image."""
    margin = radius + 1
    if label in STEPS:
        speed = rng.uniform(0.5, 1.0) * (size - 2 * margin) / max(1, frames - 1)
        length = speed * (frames - 1)
        step = np.array(STEPS[label], dtype=np.float64)
        along = rng.uniform(margin, size - margin - length)
        across = rng.uniform(margin, size - margin)
        start = np.where(step != 0, along if step.sum() > 0 else size - along, across)
        return start + step * speed * np.arange(frames)[:, None]
    orbit = rng.uniform(0.17, 0.26) * size
    centre = rng.uniform(margin + orbit, size - margin - orbit, 2)
    turn = rng.uniform(0.6, 1.0) * 2 * np.pi / frames  # most of a full turn per clip
    sign = 1.0 if label == "clockwise" else -1.0  # image y points down: +angle is clockwise on screen
    angles = rng.uniform(0, 2 * np.pi) + sign * turn * np.arange(frames)
    return centre + orbit * np.stack([np.cos(angles), np.sin(angles)], 1)


def render_clip(label: str, frames: int, size: int, rng: np.random.Generator, noise: float = 8.0) -> np.ndarray:
    """uint8 RGB `[frames, size, size, 3]` of one clip of class `label` (a motion, or a shape that
    then moves in a random one of the motions)."""
    scene = background(size, rng)
    radius = rng.uniform(0.12, 0.18) * size
    shape = SHAPES[rng.integers(len(SHAPES))]
    if label in SHAPES:
        # larger objects, so the shape survives the 4x downsampling of a ResNet stem at tiny
        # sizes, moving straight (a circle of that size would not fit the image)
        shape, label, radius = label, tuple(STEPS)[rng.integers(len(STEPS))], rng.uniform(0.22, 0.3) * size
    colour = np.where(scene.mean((0, 1)) > 128, rng.uniform(0, 90, 3), rng.uniform(165, 255, 3))
    clip = np.empty((frames, size, size, 3), dtype=np.uint8)
    for t, (cx, cy) in enumerate(trajectory(label, frames, size, radius, rng)):
        image = scene.copy()
        image[shape_mask(shape, size, cx, cy, radius)] = colour
        image += rng.normal(0, noise, image.shape)
        clip[t] = np.clip(image, 0, 255).astype(np.uint8)
    return clip


def write_video(path: Path, clip: np.ndarray, fps: float) -> None:
    """RGB `[T, H, W, 3]` -> an mp4 (mp4v) or avi (MJPG) file, written then renamed."""
    from actrec.io.video import import_cv2

    cv2 = import_cv2()
    codec = "MJPG" if path.suffix.lower() == ".avi" else "mp4v"
    with atomic_path(path) as tmp:
        # OpenCV picks the container from the suffix, so write beside the temporary name
        video_tmp = Path(tmp + path.suffix)
        writer = cv2.VideoWriter(str(video_tmp), cv2.VideoWriter_fourcc(*codec), fps, (clip.shape[2], clip.shape[1]))
        try:
            for frame in clip:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
        video_tmp.replace(tmp)


def write_synthetic_clips(
    out: str | Path,
    per_class: int = 60,
    frames: int = 16,
    size: int = 32,
    fps: float = 10.0,
    seed: int = 0,
    classes: tuple[str, ...] = CLASSES,
    suffix: str = ".mp4",
) -> Path:
    """Write `per_class` clips of each class (motions, or shapes) into `out/<class>/`; returns `out`."""
    unknown = sorted(set(classes) - set(CLASSES) - set(SHAPES))
    if unknown:
        raise ConfigError(f"unknown clip class '{unknown[0]}'; choose among: {', '.join(CLASSES + SHAPES)}")
    if per_class < 1 or frames < 2 or size < 16:
        raise ConfigError("generated clips need per_class >= 1, frames >= 2 and size >= 16")
    out = Path(out)
    rng = np.random.default_rng(seed)
    for index in range(per_class):
        for label in classes:
            write_video(out / label / f"{label}_{index:04d}{suffix}", render_clip(label, frames, size, rng), fps)
    return out
