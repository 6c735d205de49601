"""A model described for a person (`actrec info`), one short line each, read from the
metadata its model file holds (`Recognizer.metadata`), so a loaded and a fitted model read alike."""

from __future__ import annotations

from typing import Any

# what a clip model's summary says of its motion input (fused ones are named by their members)
MOTION_WORDS = {
    "none": "",
    "diff": ", differences of consecutive frames",
    "flow": ", dense optical flow pictures (OpenCV DIS, computed before the network)",
}
FUSED_NAMES = {"none": "RGB", "diff": "frame differences", "flow": "optical flow"}


def sequence_model_summary(meta: dict[str, Any], kind: str) -> dict[str, str]:
    """Model, kind, window, input layout, feature steps and, for an ensemble, its members."""
    rate = f" at {meta['sample_rate_hz']:g} Hz" if meta.get("sample_rate_hz") else ""
    frame_shape, schema = list(meta.get("frame_shape") or []), meta.get("schema")
    if len(frame_shape) == 2:
        joints, channels = frame_shape
        inputs = f"keypoints [T, {joints}, {channels}]" + (f" ({schema})" if schema else "")
    else:
        names = meta.get("feature_names") or []
        shown = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
        inputs = f"features [T, {frame_shape[0] if frame_shape else '?'}]" + (f": {shown}" if names else "")
    rows = {
        "model": meta["config"]["model"],
        "kind": kind,
        "window": f"{meta['window_length']} steps{rate}",
        "input": inputs,
        "features": " -> ".join(step["name"] for step in meta.get("pipeline") or []),
    }
    options = meta["config"].get("model_options") or {}
    if options.get("members"):  # an ensemble (`auto`): its members and their weights
        weights = options.get("weights") or [1.0 / len(options["members"])] * len(options["members"])
        rows["members"] = ", ".join(
            f"{member['model']} (weight {weight:.2f})" for member, weight in zip(options["members"], weights)
        )
    return rows


def clip_model_summary(
    model: str, kind: str, window_frames: int, sample_rate_hz: float | None, clip: Any
) -> dict[str, str]:
    """Model, kind, window and the pre-processing of a clip model (`clip`: its `ClipConfig`)."""
    rate = f" at {sample_rate_hz:g} fps" if sample_rate_hz else ""
    spacing = f", stride {clip.stride}" if clip.sampling == "dense" else ""
    fused = " + ".join(FUSED_NAMES.get(m, m) for m in clip.motion.split("+"))
    return {
        "model": model,
        "kind": kind,
        "window": f"{window_frames} video frames{rate}",
        "input": "RGB video, any size",
        "features": f"{clip.frames} frames ({clip.sampling} sampling{spacing}), short side {clip.stored_side} px, "
        f"centre {clip.size}x{clip.size} crop, ImageNet mean/std"
        + MOTION_WORDS.get(clip.motion, f", fused networks on {fused}"),
    }
