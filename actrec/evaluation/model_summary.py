"""A sequence model described for a person (`actrec info`), one short line each, read from the
metadata its model file holds (`Recognizer.metadata`), so a loaded and a fitted model read alike."""

from __future__ import annotations

from typing import Any


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
