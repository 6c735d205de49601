"""Decision rules fitted to data: the smoothing, thresholds and minimum duration that give the
best event segments on a session whose true segments are known.

Default rules are scaled to the window only; a real session (a noisy sensor, exercises back to
back) then splits one action into several events or merges neighbours. Here the model's
per-frame probabilities are computed once (batch prediction of every trailing window, which
equals what `Streamer` computes frame by frame), then `DecisionMaker` replays them under
candidate rules, searched one parameter at a time for the best segment F1 (a predicted segment
matches a true one of the same label at intersection-over-union >= 0.5). When that search cannot
leave F1 0 (no single change gives a segment: a moderately confident model under a high enter
threshold, actions shorter than the default minimum event), enter threshold, minimum event and
smoothing span are searched jointly; when nothing gives a segment, the report says why.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any, Sequence

import numpy as np

from actrec.stream.decisions import DecisionMaker, DecisionRules
from actrec.stream.events import event_segments
from actrec.stream.windows import trailing_windows

Segment = tuple[str, float, float]  # label, start_s, end_s
MIN_IOU = 0.5
BATCH_WINDOWS = 512


def segment_scores(predicted: Sequence[Segment], truth: Sequence[Segment], min_iou: float = MIN_IOU) -> dict[str, float]:
    """Precision, recall and F1 of predicted segments against true ones: each true segment
    matches at most one predicted segment of its label with IoU >= `min_iou` (greedy by IoU)."""
    pairs = []
    for i, (label, start, end) in enumerate(predicted):
        for j, (true_label, true_start, true_end) in enumerate(truth):
            if label != true_label:
                continue
            overlap = min(end, true_end) - max(start, true_start)
            union = max(end, true_end) - min(start, true_start)
            if overlap > 0 and overlap / union >= min_iou:
                pairs.append((overlap / union, i, j))
    used_predicted, used_truth = set(), set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_predicted and j not in used_truth:
            used_predicted.add(i)
            used_truth.add(j)
    matched = len(used_truth)
    precision = matched / len(predicted) if predicted else 0.0
    recall = matched / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted": len(predicted), "true": len(truth)}


def session_probabilities(recognizer: Any, frames: np.ndarray, window: int | None = None) -> np.ndarray:
    """float32 `[T, C]`: the model's probabilities at every frame of a session `frames [T, ...]`,
    each from the window ending there (shorter while the stream warms up), as `Streamer` gives."""
    width = int(window or recognizer.window_length)
    features = recognizer.pipeline.transform(frames[None].astype(np.float32), np.array([len(frames)]))[0]
    features = np.nan_to_num(features)
    out = []
    for start in range(0, len(features), BATCH_WINDOWS):
        # windows ending in this batch need the `width - 1` frames before it
        first = max(0, start - width + 1)
        windows, lengths = trailing_windows(features[first : start + BATCH_WINDOWS], width)
        skip = start - first
        out.append(recognizer.proba_from_features(windows[skip:], lengths[skip:]))
    return np.concatenate(out)


def replay(probabilities: np.ndarray, times: np.ndarray, rules: DecisionRules, label_names: list[str], sample_rate_hz: float) -> list[Segment]:
    """The event segments `DecisionMaker` gives under `rules` for these per-frame probabilities."""
    maker = DecisionMaker(rules, label_names, sample_rate_hz)
    events = []
    for frame, (time, row) in enumerate(zip(times.tolist(), probabilities)):
        events += maker.update(frame, time, row).events
    events += maker.finish(len(times) - 1, float(times[-1]))
    return event_segments(events)


def candidate_values(rules: DecisionRules, window_length: int, sample_rate_hz: float) -> dict[str, list[Any]]:
    """What the search tries per parameter, scaled to the model's window."""
    window_s = window_length / sample_rate_hz
    frames = sorted({max(1, round(window_length * f)) for f in (1 / 12, 1 / 6, 1 / 3, 1 / 2, 1.0)})
    return {
        "smoothing_frames": frames,
        "enter": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        "exit_ratio": [0.5, 0.75, 1.0],
        "min_event_s": [round(window_s * f, 4) for f in (1 / 6, 1 / 3, 2 / 3, 1.0, 2.0)],
        "smoothing": ["ema", "mean"],
    }


def with_value(rules: DecisionRules, name: str, value: Any) -> DecisionRules:
    """`rules` with one searched parameter changed; voting follows the smoothing span and the
    exit threshold is a fraction of the enter threshold (hysteresis)."""
    if name == "smoothing_frames":
        return replace(rules, smoothing_frames=value, vote_n=value, vote_k=value // 2 + 1)
    if name == "enter":
        ratio = rules.exit / rules.enter if rules.enter else 1.0
        return replace(rules, enter=value, exit=round(value * ratio, 4))
    if name == "exit_ratio":
        return replace(rules, exit=round(rules.enter * value, 4))
    return replace(rules, **{name: value})


def fit_rules(probabilities: np.ndarray, times: np.ndarray, truth: Sequence[Segment], label_names: list[str], sample_rate_hz: float, window_length: int, start: DecisionRules | None = None, passes: int = 2) -> tuple[DecisionRules, dict[str, Any]]:
    """Rules maximising segment F1 on one or more concatenated sessions; coordinate search from
    `start` (default: the model's default rules), and a joint search of enter threshold, minimum
    event and smoothing when that stays at F1 0. Returns the rules and a report with the F1
    before and after (and `why`, one line, when no rules gave a matching segment)."""
    rules = start or DecisionRules.for_model(window_length, sample_rate_hz)
    counter = [0]

    def score(candidate: DecisionRules) -> dict[str, float]:
        counter[0] += 1
        return segment_scores(replay(probabilities, times, candidate, label_names, sample_rate_hz), truth)

    before = score(rules)
    best, best_score = _one_at_a_time(rules, before, score, window_length, sample_rate_hz, passes)
    if best_score["f1"] == 0.0:  # flat at zero one parameter at a time: try them together, then refine
        candidates = candidate_values(best, window_length, sample_rate_hz)
        for enter in candidates["enter"]:
            for min_event_s in candidates["min_event_s"]:
                for frames in candidates["smoothing_frames"]:
                    candidate = with_value(with_value(replace(best, min_event_s=min_event_s), "enter", enter), "smoothing_frames", frames)
                    result = score(candidate)
                    if result["f1"] > best_score["f1"] + 1e-9:
                        best, best_score = candidate, result
        if best_score["f1"] > 0.0:
            best, best_score = _one_at_a_time(best, best_score, score, window_length, sample_rate_hz, passes)
    report = {"before": before, "after": best_score, "rules_tried": counter[0], "rules": asdict(best)}
    if best_score["f1"] == 0.0:
        report["why"] = why_no_segments(probabilities, times, truth, label_names, counter[0])
    return best, report


def _one_at_a_time(best: DecisionRules, best_score: dict[str, float], score: Any, window_length: int, sample_rate_hz: float,
                   passes: int) -> tuple[DecisionRules, dict[str, float]]:
    """Coordinate search: each parameter's candidate values in turn, keeping any that raise F1."""
    for _ in range(passes):
        improved = False
        for name, values in candidate_values(best, window_length, sample_rate_hz).items():
            for value in values:
                candidate = with_value(best, name, value)
                result = score(candidate)
                if result["f1"] > best_score["f1"] + 1e-9:
                    best, best_score, improved = candidate, result, True
        if not improved:
            break
    return best, best_score


def why_no_segments(probabilities: np.ndarray, times: np.ndarray, truth: Sequence[Segment], label_names: list[str], tried: int) -> str:
    """One line on why no rules matched a true segment: how the model's own probabilities look
    inside the true segments (its probability of their class, and how often that class leads)."""
    index = {name: i for i, name in enumerate(label_names)}
    peaks, leading, frames = [], 0, 0
    for label, start, end in truth:
        inside = (times >= start) & (times < end)
        if label not in index or not inside.any():
            continue
        rows = probabilities[inside]
        peaks.append((float(rows[:, index[label]].max()), label, start, end))
        leading += int((rows.argmax(1) == index[label]).sum())
        frames += int(inside.sum())
    if not peaks:
        return (f"none of the {len(truth)} true segments lies inside the session's {times[-1]:.1f} s with a class of the model "
                f"({', '.join(label_names)}); check the segments' times and labels")
    peak, label, start, end = min(peaks)
    return (f"{tried} rule sets tried, none gives a segment at IoU >= {MIN_IOU}: inside the true segments the model's class leads on "
            f"{leading / max(frames, 1):.0%} of the frames, and its probability of '{label}' ({start:g}-{end:g} s) peaks at {peak:.2f}; "
            "the model does not recognise this session: check its columns, rate and segments, or retrain")


def calibrate(recognizer: Any, frames: np.ndarray, times: np.ndarray, truth: Sequence[Segment]) -> dict[str, Any]:
    """Fit decision rules on one session (`frames [T, ...]`, `times [T]` in seconds, true
    segments) and store them in `recognizer.decision_rules`, which `save` keeps and `Streamer`
    uses. Returns the report of `fit_rules`."""
    steps = np.diff(times)
    rate = float(1.0 / np.median(steps)) if steps.size else float(recognizer.sample_rate_hz or 30.0)
    probabilities = session_probabilities(recognizer, frames)
    rules, report = fit_rules(probabilities, times - times[0], truth, list(recognizer.label_names), rate, int(recognizer.window_length))
    recognizer.decision_rules = asdict(rules)
    return report
