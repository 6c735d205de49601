"""Decision rules fitted to data: the smoothing, thresholds and minimum duration that give the
best event segments on a session whose true segments are known.

Default rules are scaled to the window only; a real session (a noisy sensor, exercises back to
back) then splits one action into several events or merges neighbours. Here the model's
per-frame probabilities are computed once (the session streamed through `Streamer`, as it
would run live), then `DecisionMaker` replays them under
candidate rules, searched one parameter at a time for the best segment F1 (a predicted segment
matches a true one of the same label at intersection-over-union >= 0.5). When that search cannot
leave F1 0 (no single change gives a segment: a moderately confident model under a high enter
threshold, actions shorter than the default minimum event), enter threshold, minimum event and
smoothing span are searched jointly; when nothing gives a segment, the report says why.

The session is a labelled recording (`actrec stream --calibrate`), or, at training time
(`rules_from_windows`, called by `run.py`), the recordings the validation windows were cut from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from actrec.data.dataset import SequenceDataset
from actrec.data.sessions import LabelledSession, sessions_from_windows
from actrec.stream.decisions import DecisionMaker, DecisionRules
from actrec.stream.engine import DEFAULT_SAMPLE_RATE_HZ, Streamer
from actrec.stream.events import event_segments

Segment = tuple[str, float, float]  # label, start_s, end_s
ScoredSession = tuple[
    np.ndarray, np.ndarray, Sequence[Segment]
]  # probabilities [T, C], times [T] from 0, true segments
MIN_IOU = 0.5
# frames of rebuilt sessions a training-time fit streams and replays per split (the first
# sessions by group name; about 8 minutes at 30 Hz): each is streamed once, then replayed under
# every candidate rule set (about 40)
MAX_SESSION_FRAMES = 15_000


def segment_scores(
    predicted: Sequence[Segment], truth: Sequence[Segment], min_iou: float = MIN_IOU
) -> dict[str, float]:
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
    """float32 `[T, C]`: what `Streamer` gives at every frame of a session `frames [T, ...]` (the
    window ending there, shorter while the stream warms up), so rules are fitted to the
    probabilities a live stream sees, missing keypoints filled as it fills them; a NaN row where
    the frame is missing (all NaN: no person, a dropped sample), which `replay` passes on as such."""
    streamer = Streamer(recognizer, window=window)
    out = np.full((len(frames), len(streamer.label_names)), np.nan, dtype=np.float32)
    for index, frame in enumerate(frames):
        probabilities = streamer.push(frame).probabilities
        if probabilities is not None:
            out[index] = probabilities
    return out


def replay(
    probabilities: np.ndarray, times: np.ndarray, rules: DecisionRules, label_names: list[str], sample_rate_hz: float
) -> list[Segment]:
    """The event segments `DecisionMaker` gives under `rules` for these per-frame probabilities
    (a NaN row is a missing frame)."""
    maker = DecisionMaker(rules, label_names, sample_rate_hz)
    events = []
    missing = np.isnan(probabilities[:, 0]).tolist()
    for frame, (time, row, absent) in enumerate(zip(times.tolist(), probabilities, missing)):
        events += maker.update(frame, time, None if absent else row).events
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


def pooled_scores(
    sessions: Sequence[ScoredSession], rules: DecisionRules, label_names: list[str], sample_rate_hz: float
) -> dict[str, float]:
    """`segment_scores` over several sessions at once (each replayed from a fresh state): their
    segments are laid end to end in time, so a prediction only ever matches its own session."""
    predicted: list[Segment] = []
    truth: list[Segment] = []
    offset = 0.0
    for probabilities, times, true_segments in sessions:
        predicted += [
            (label, start + offset, end + offset)
            for label, start, end in replay(probabilities, times, rules, label_names, sample_rate_hz)
        ]
        truth += [(label, start + offset, end + offset) for label, start, end in true_segments]
        offset += max([float(times[-1])] + [end for _, _, end in true_segments]) + 1.0
    return segment_scores(predicted, truth)


def fit_rules(
    sessions: Sequence[ScoredSession],
    label_names: list[str],
    sample_rate_hz: float,
    window_length: int,
    start: DecisionRules | None = None,
    passes: int = 2,
) -> tuple[DecisionRules, dict[str, Any]]:
    """Rules maximising segment F1 pooled over `sessions` (per-frame probabilities, times from
    0, true segments); coordinate search from `start` (default: the model's default rules), and a
    joint search of enter threshold, minimum event and smoothing when that stays at F1 0. Returns
    the rules and a report with the F1 before and after (and `why`, one line, when no rules gave
    a matching segment)."""
    rules = start or DecisionRules.for_model(window_length, sample_rate_hz)
    counter = [0]

    def score(candidate: DecisionRules) -> dict[str, float]:
        counter[0] += 1
        return pooled_scores(sessions, candidate, label_names, sample_rate_hz)

    before = score(rules)
    best, best_score = _one_at_a_time(rules, before, score, window_length, sample_rate_hz, passes)
    if best_score["f1"] == 0.0:  # flat at zero one parameter at a time: try them together, then refine
        candidates = candidate_values(best, window_length, sample_rate_hz)
        for enter in candidates["enter"]:
            for min_event_s in candidates["min_event_s"]:
                for frames in candidates["smoothing_frames"]:
                    candidate = with_value(
                        with_value(replace(best, min_event_s=min_event_s), "enter", enter), "smoothing_frames", frames
                    )
                    result = score(candidate)
                    if result["f1"] > best_score["f1"] + 1e-9:
                        best, best_score = candidate, result
        if best_score["f1"] > 0.0:
            best, best_score = _one_at_a_time(best, best_score, score, window_length, sample_rate_hz, passes)
    report = {"before": before, "after": best_score, "rules_tried": counter[0], "rules": asdict(best)}
    if best_score["f1"] == 0.0:
        report["why"] = why_no_segments(sessions, label_names, counter[0], window_length / sample_rate_hz)
    return best, report


def _one_at_a_time(
    best: DecisionRules,
    best_score: dict[str, float],
    score: Any,
    window_length: int,
    sample_rate_hz: float,
    passes: int,
) -> tuple[DecisionRules, dict[str, float]]:
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


def why_no_segments(
    sessions: Sequence[ScoredSession], label_names: list[str], tried: int, window_s: float | None = None
) -> str:
    """One line on why no rules matched a true segment: what the model's streamed predictions
    are inside the true segments (the class that leads most, how often the true class leads, its
    peak probability), and what that points to."""
    index = {name: i for i, name in enumerate(label_names)}
    peaks, leading, frames, n_truth, seconds = [], 0, 0, 0, 0.0
    leaders = np.zeros(len(label_names), dtype=np.int64)
    for probabilities, times, truth in sessions:
        n_truth += len(truth)
        seconds += float(times[-1])
        for label, start, end in truth:
            inside = (times >= start) & (times < end) & ~np.isnan(probabilities[:, 0])
            if label not in index or not inside.any():
                continue
            rows = probabilities[inside]
            peaks.append((float(rows[:, index[label]].max()), label, start, end))
            leaders += np.bincount(rows.argmax(1), minlength=len(label_names))
            leading += int((rows.argmax(1) == index[label]).sum())
            frames += int(inside.sum())
    if not peaks:
        return (
            f"none of the {n_truth} true segments lies inside the session's {seconds:.1f} s with a class of the model "
            f"({', '.join(label_names)}); check the segments' times and labels"
        )
    peak, label, start, end = min(peaks)
    mostly = int(leaders.argmax())
    seen = (
        f"{tried} rule sets tried, none gives a segment at IoU >= {MIN_IOU} with a true one: inside the true segments "
        f"the streamed predictions are mostly '{label_names[mostly]}' ({leaders[mostly] / frames:.0%} of the frames), "
        f"the true class leads on {leading / frames:.0%}, and the probability of '{label}' ({start:g}-{end:g} s) "
        f"peaks at {peak:.2f}"
    )
    if leading / frames >= 0.5:
        shortest = min(end - start for _, start, end in (segment for _, _, truth in sessions for segment in truth))
        window = f" than the model's {window_s:g} s window" if window_s else ""
        return (
            f"{seen}; the model is mostly right, so the true segments may be offset in time or shorter{window} "
            f"(the shortest is {shortest:g} s): check the segments' times"
        )
    return f"{seen}; the model does not recognise this session: check its columns, rate and segments, or retrain"


def calibrate(recognizer: Any, frames: np.ndarray, times: np.ndarray, truth: Sequence[Segment]) -> dict[str, Any]:
    """Fit decision rules on one session (`frames [T, ...]`, `times [T]` in seconds, true
    segments) and store them in `recognizer.decision_rules`, which `save` keeps and `Streamer`
    uses. Returns the report of `fit_rules`, with `saved` False (and `why`) when no rules gave a
    segment matching a true one: the model's rules are then left as they were."""
    # the rate the Streamer will turn seconds into frames with, not the session's: a model saved
    # without its rate streams under DEFAULT_SAMPLE_RATE_HZ, whatever the session's times say
    rate = float(recognizer.sample_rate_hz or DEFAULT_SAMPLE_RATE_HZ)
    probabilities = session_probabilities(recognizer, frames)
    rules, report = fit_rules(
        [(probabilities, times - times[0], truth)], list(recognizer.label_names), rate, int(recognizer.window_length)
    )
    report["saved"] = report["after"]["f1"] > 0.0
    if report["saved"]:
        recognizer.decision_rules = asdict(rules)
    return report


def scored_sessions(
    recognizer: Any, sessions: Sequence[LabelledSession], sample_rate_hz: float, max_frames: int = MAX_SESSION_FRAMES
) -> list[ScoredSession]:
    """The model's per-frame probabilities, times and true segments (seconds) of `sessions`,
    taken in order until `max_frames` frames are in."""
    scored: list[ScoredSession] = []
    frames = 0
    for session in sessions:
        if frames >= max_frames:
            break
        frames += len(session.frames)
        truth = [(label, start / sample_rate_hz, end / sample_rate_hz) for label, start, end in session.segments]
        scored.append(
            (session_probabilities(recognizer, session.frames), np.arange(len(session.frames)) / sample_rate_hz, truth)
        )
    return scored


def rules_from_windows(
    recognizer: Any, validation: SequenceDataset, test: SequenceDataset | None = None
) -> dict[str, Any] | None:
    """Decision rules fitted when training: the continuous sessions the validation windows were
    cut from (`data.sessions`, which needs groups and `meta["start_frame"]`) are streamed through
    the fitted model and the rules searched for segment F1 on them; they go into
    `recognizer.decision_rules` (saved with the model, the Streamer's default) when they beat the
    default rules there. The test windows' sessions, when they have order too, score both rule
    sets on data neither the model nor the search saw.

    Returns metrics.json's `segments` entry (None when the validation windows have no order):
    `min_iou`, `rules` (None if not better than the defaults) and per split `segment_f1`,
    `segment_f1_default_rules`, precision, recall, segment counts, `sessions` and `frames`.
    Raises DataError when windows of one group do not copy the same recording.
    """
    sessions = sessions_from_windows(validation)
    if not sessions:
        return None
    rate = float(recognizer.sample_rate_hz or DEFAULT_SAMPLE_RATE_HZ)
    label_names, window = list(recognizer.label_names), int(recognizer.window_length)
    on_validation = scored_sessions(recognizer, sessions, rate)
    rules, report = fit_rules(on_validation, label_names, rate, window)
    better = report["after"]["f1"] > report["before"]["f1"]
    if better:
        recognizer.decision_rules = asdict(rules)
    result: dict[str, Any] = {
        "min_iou": MIN_IOU,
        "rules": asdict(rules) if better else None,
        "val": _split_scores(report["after"], report["before"], on_validation),
    }
    on_test = scored_sessions(recognizer, sessions_from_windows(test), rate) if test is not None else []
    if on_test:
        default = DecisionRules.for_model(window, rate)
        result["test"] = _split_scores(
            pooled_scores(on_test, rules, label_names, rate),
            pooled_scores(on_test, default, label_names, rate),
            on_test,
        )
    return result


def _split_scores(
    fitted: dict[str, float], default: dict[str, float], sessions: Sequence[ScoredSession]
) -> dict[str, Any]:
    return {
        "segment_f1": fitted["f1"],
        "segment_f1_default_rules": default["f1"],
        "precision": fitted["precision"],
        "recall": fitted["recall"],
        "predicted_segments": fitted["predicted"],
        "true_segments": fitted["true"],
        "sessions": len(sessions),
        "frames": int(sum(len(times) for _, times, _ in sessions)),
    }
