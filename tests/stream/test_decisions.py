"""Decision rules on scripted probability sequences: thresholds, hysteresis, voting, minimum
duration, smoothing, missing frames, and the events they emit."""

import json

import numpy as np
import pytest

from actrec.errors import ConfigError
from actrec.stream.decisions import DecisionMaker, DecisionRules
from actrec.stream.events import EventWriter, event_segments, read_events

LABELS = ["sit", "walk", "wave"]
RATE = 10.0


def probs(sit: float, walk: float) -> np.ndarray:
    return np.array([sit, walk, max(0.0, 1.0 - sit - walk)], dtype=np.float32)


def run(rules: DecisionRules, sequence: list) -> list:
    maker = DecisionMaker(rules, LABELS, RATE)
    return [maker.update(i, i / RATE, p) for i, p in enumerate(sequence)]


def plain(**options) -> DecisionRules:
    """No smoothing, 1-of-1 voting, no minimum duration: each rule tested alone."""
    base = dict(smoothing="none", vote_k=1, vote_n=1, min_event_s=0.0, no_one_after_s=0.5)
    base.update(options)
    return DecisionRules(**base)


def test_below_enter_threshold_stays_unknown_and_every_frame_has_a_decision():
    sequence = [probs(0.55, 0.2)] * 10
    decisions = run(plain(enter=0.6, exit=0.4), sequence)
    assert [d.frame for d in decisions] == list(range(10))
    assert {d.label for d in decisions} == {"unknown"}
    assert all(d.raw_label == "sit" for d in decisions)
    assert not any(d.events for d in decisions)


def test_hysteresis_keeps_label_between_exit_and_enter_and_leaves_below_exit():
    sequence = [probs(0.7, 0.1)] * 3 + [probs(0.5, 0.2)] * 4 + [probs(0.3, 0.2)] * 2
    decisions = run(plain(enter=0.6, exit=0.4), sequence)
    assert [d.label for d in decisions] == ["sit"] * 7 + ["unknown"] * 2
    starts = [e for d in decisions for e in d.events if e.type == "start"]
    ends = [e for d in decisions for e in d.events if e.type == "end"]
    assert [(e.label, e.frame) for e in starts] == [("sit", 0)]
    assert [(e.label, e.frame, e.confidence) for e in ends] == [("sit", 7, pytest.approx(0.7))]


def test_per_class_threshold_overrides_the_global_one():
    sequence = [probs(0.55, 0.1)] * 3
    decisions = run(plain(enter=0.6, exit=0.4, thresholds={"sit": 0.5}), sequence)
    assert decisions[-1].label == "sit"


def test_voting_ignores_single_frame_spikes():
    sequence = [probs(0.9, 0.05)] * 6 + [probs(0.05, 0.9), probs(0.9, 0.05)] * 3
    decisions = run(plain(vote_k=3, vote_n=5, exit=0.0, enter=0.6), sequence)
    assert {d.label for d in decisions[3:]} == {"sit"}
    assert all(e.label == "sit" for d in decisions for e in d.events)


def test_label_change_has_a_decision_on_every_frame_and_no_gap_between_events():
    sequence = [probs(0.9, 0.05)] * 10 + [probs(0.05, 0.9)] * 10
    decisions = run(plain(vote_k=3, vote_n=5), sequence)
    assert [d.frame for d in decisions] == list(range(20))
    labels = [d.label for d in decisions]
    assert labels[2:10] == ["sit"] * 8 and labels[-5:] == ["walk"] * 5  # 3 votes needed
    events = [e for d in decisions for e in d.events]
    end_sit = next(e for e in events if e.type == "end" and e.label == "sit")
    start_walk = next(e for e in events if e.type == "start" and e.label == "walk")
    assert start_walk.frame == end_sit.frame  # the next event starts where the last one stopped


def test_minimum_duration_suppresses_short_blips_and_dates_the_start_back():
    sequence = [probs(0.1, 0.1)] * 3 + [probs(0.9, 0.05)] * 2 + [probs(0.1, 0.1)] * 3 + [probs(0.9, 0.05)] * 8
    decisions = run(plain(min_event_s=0.5), sequence)  # 5 frames at 10 Hz
    events = [e for d in decisions for e in d.events]
    assert [(e.type, e.label, e.frame) for e in events] == [("start", "sit", 8)]
    assert decisions[12].events and decisions[12].label == "sit"  # decided on the 5th frame of the run
    assert all(d.label == "unknown" for d in decisions[:12])


def test_ema_smoothing_delays_and_steadies_the_change():
    sequence = [probs(0.9, 0.05)] * 10 + [probs(0.05, 0.9)] * 10
    decisions = run(plain(smoothing="ema", smoothing_frames=5), sequence)
    first_walk = next(d.frame for d in decisions if d.label == "walk")
    assert first_walk > 10
    assert decisions[10].smoothed[0] == pytest.approx(0.9 + (0.05 - 0.9) / 3, abs=1e-6)


def test_moving_average_smoothing_is_the_mean_of_the_last_frames():
    sequence = [probs(0.9, 0.05), probs(0.3, 0.6), probs(0.6, 0.3)]
    decisions = run(plain(smoothing="mean", smoothing_frames=2), sequence)
    assert decisions[2].smoothed[0] == pytest.approx(0.45)


def test_short_gap_holds_the_label_and_long_gap_gives_no_one_with_end_at_gap_start():
    sequence = [probs(0.9, 0.05)] * 5 + [None] * 3 + [probs(0.9, 0.05)] * 2 + [None] * 8
    decisions = run(plain(no_one_after_s=0.5), sequence)
    assert [d.label for d in decisions[5:8]] == ["sit"] * 3 and all(d.missing for d in decisions[5:8])
    assert decisions[9].label == "sit"
    labels = [d.label for d in decisions]
    assert labels[-1] == "no one" and labels.index("no one") == 15
    end = decisions[15].events[0]
    assert (end.type, end.label, end.frame, end.time) == ("end", "sit", 10, pytest.approx(1.0))
    assert len(decisions) == len(sequence)


def test_finish_closes_the_open_event():
    maker = DecisionMaker(plain(), LABELS, RATE)
    for i in range(4):
        maker.update(i, i / RATE, probs(0.9, 0.05))
    (end,) = maker.finish(3, 0.3)
    assert (end.type, end.label, end.frame) == ("end", "sit", 3)


def test_rules_from_model_scale_with_window_and_rate():
    rules = DecisionRules.for_model(window_length=30, sample_rate_hz=30.0)
    assert rules.smoothing_frames == 5 and (rules.vote_k, rules.vote_n) == (3, 5)
    assert rules.no_one_after_s == pytest.approx(1.0) and rules.min_event_s == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "options", [dict(enter=0.4, exit=0.6), dict(vote_k=4, vote_n=3), dict(thresholds={"run": 0.5})]
)
def test_impossible_rules_raise_config_error(options):
    with pytest.raises(ConfigError):
        DecisionMaker(DecisionRules(**options), LABELS, RATE)


def test_event_writer_writes_one_json_object_per_line(tmp_path):
    maker = DecisionMaker(plain(), LABELS, RATE)
    path = tmp_path / "events.jsonl"
    sequence = [probs(0.9, 0.05)] * 3 + [probs(0.05, 0.9)] * 3
    with EventWriter(path) as writer:
        for i, p in enumerate(sequence):
            writer.write(maker.update(i, i / RATE, p).events)
        writer.write(maker.finish(5, 0.5))
    lines = path.read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["start", "end", "start", "end"]
    assert set(json.loads(lines[0])) == {"type", "label", "time", "frame", "confidence"}
    segments = event_segments(read_events(path))
    assert [(label, start) for label, start, _ in segments] == [("sit", 0.0), ("walk", pytest.approx(0.3))]
