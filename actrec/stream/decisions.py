"""Stable per-frame decisions from noisy per-frame probabilities.

Raw argmax flickers, and `if conf < 0.8: continue` leaves the display without an answer exactly
when the action changes. Here every frame gets a `Decision`; the stable label moves only through
smoothing (EMA or moving average), per-class enter thresholds, k-of-n voting, a minimum run
before an event starts, and hysteresis (a label stays until its smoothed probability falls below a
lower exit threshold). `unknown` (nobody above threshold) and `no one` (no input for a while) are
explicit states, never a missing answer.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from actrec.errors import ConfigError
from actrec.stream.events import Event

MAX_RULE_FRAMES = 10_000  # smoothing and voting windows: over 5 minutes at 30 fps
MAX_RULE_SECONDS = 3600.0
MAX_LABEL_CHARS = 100  # the state labels go out with every decision


@dataclass
class DecisionRules:
    """How probabilities become a stable label and events.

    enter / exit: smoothed probability a class needs to become the candidate, and below which an
      active class is left (hysteresis: exit <= enter). `thresholds` / `exit_thresholds` override
      them per class name. The default 0.5 is the point where a class outweighs all the others
      together. A higher default (0.6) gave no event at all for models right on average but not
      confident on every frame: a last-pooled GRU's streamed probabilities follow the phase of the
      signal where each sliding window ends, and its true class averaged 0.5-0.6 over its segments
      (tests/stream/test_default_rules.py).
    smoothing: "ema" (span `smoothing_frames`), "mean" (moving average over `smoothing_frames`) or
      "none".
    vote_k / vote_n: a class is the vote winner when it is the candidate on at least k of the last
      n frames.
    min_event_s: the winner must hold this long before its event starts (shorter blips never become
      events); the start is dated back to the first frame of the run.
    no_one_after_s: missing input (no person, no sample) for this long gives `no one` and ends the
      open event; shorter gaps hold the current label.
    """

    enter: float = 0.5
    exit: float = 0.35
    thresholds: dict[str, float] = field(default_factory=dict)
    exit_thresholds: dict[str, float] = field(default_factory=dict)
    smoothing: str = "ema"
    smoothing_frames: int = 5
    vote_k: int = 3
    vote_n: int = 5
    min_event_s: float = 0.3
    no_one_after_s: float = 1.0
    unknown_label: str = "unknown"
    no_one_label: str = "no one"

    @classmethod
    def for_model(cls, window_length: int, sample_rate_hz: float, **overrides: object) -> DecisionRules:
        """Defaults scaled to the model: smoothing and voting over a sixth of the window, a
        minimum event of a third of the window's duration, `no one` after one window of silence."""
        window_s = window_length / sample_rate_hz
        frames = max(1, window_length // 6)
        defaults: dict[str, object] = dict(
            smoothing_frames=frames,
            vote_n=frames,
            vote_k=frames // 2 + 1,
            min_event_s=window_s / 3,
            no_one_after_s=window_s,
        )
        defaults.update(overrides)
        return cls(**defaults)  # type: ignore[arg-type]

    def check(self, label_names: list[str]) -> None:
        """Raise ConfigError for thresholds that cannot work with these classes."""
        if self.smoothing not in ("ema", "mean", "none"):
            raise ConfigError(f"smoothing '{self.smoothing}' is not one of: ema, mean, none")
        if not 1 <= self.vote_k <= self.vote_n <= MAX_RULE_FRAMES:
            raise ConfigError(f"voting needs 1 <= k <= n <= {MAX_RULE_FRAMES}, got k={self.vote_k}, n={self.vote_n}")
        if not 1 <= self.smoothing_frames <= MAX_RULE_FRAMES:
            raise ConfigError(f"smoothing_frames must be 1 to {MAX_RULE_FRAMES}, got {self.smoothing_frames}")
        probabilities = (
            {"enter": self.enter, "exit": self.exit}
            | {f"thresholds.{name}": value for name, value in self.thresholds.items()}
            | {f"exit_thresholds.{name}": value for name, value in self.exit_thresholds.items()}
        )
        for name, value in probabilities.items():
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"rule '{name}' is {value}; give a probability from 0 to 1")
        for name in ("min_event_s", "no_one_after_s"):
            if not 0.0 <= getattr(self, name) <= MAX_RULE_SECONDS:
                raise ConfigError(f"rule '{name}' is {getattr(self, name)}; give 0 to {MAX_RULE_SECONDS:g} seconds")
        for name in ("unknown_label", "no_one_label"):
            if not 0 < len(getattr(self, name)) <= MAX_LABEL_CHARS:
                raise ConfigError(f"rule '{name}' must have 1 to {MAX_LABEL_CHARS} characters")
        unknown = sorted((set(self.thresholds) | set(self.exit_thresholds)) - set(label_names))
        if unknown:
            raise ConfigError(f"threshold given for '{unknown[0]}', which is not a class: {', '.join(label_names)}")
        for name in label_names:
            if self.exit_for(name) > self.enter_for(name):
                raise ConfigError(
                    f"class '{name}': exit threshold {self.exit_for(name)} is above enter threshold "
                    f"{self.enter_for(name)}; hysteresis needs exit <= enter"
                )

    @classmethod
    def from_settings(
        cls, window_length: int, sample_rate_hz: float, settings: dict[str, Any], source: str = "decision rules"
    ) -> DecisionRules:
        """`for_model` defaults with `settings` (a rules YAML, `actrec stream` flags) over them;
        an unknown name or a value of the wrong kind is one ConfigError naming it."""
        kinds = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in settings.items():
            if name not in kinds:
                raise ConfigError(f"{source}: unknown rule '{name}'; use any of {', '.join(kinds)}")
            values[name] = _rule_value(name, str(kinds[name]), value, source)
        return cls.for_model(window_length, sample_rate_hz, **values)

    def summary(self) -> str:
        """One line of the values in force, for logs and `actrec stream`."""
        per_class = "".join(f", {name} enters at {value:g}" for name, value in sorted(self.thresholds.items()))
        return (
            f"rules: enter {self.enter:g}, exit {self.exit:g}{per_class}, smoothing {self.smoothing} over "
            f"{self.smoothing_frames} frames, vote {self.vote_k} of {self.vote_n}, min event {self.min_event_s:.2f} s, "
            f"no one after {self.no_one_after_s:.2f} s"
        )

    def enter_for(self, label: str) -> float:
        return self.thresholds.get(label, self.enter)

    def exit_for(self, label: str) -> float:
        return self.exit_thresholds.get(label, self.exit)


def _rule_value(name: str, kind: str, value: Any, source: str) -> Any:
    """`value` as the field's type (YAML and flags give numbers, text or a class -> number map)."""
    try:
        if kind.startswith("dict"):
            if not isinstance(value, dict):
                raise TypeError(value)
            return {str(label): float(number) for label, number in value.items()}
        if kind == "str":
            return str(value)
        if isinstance(value, bool):
            raise TypeError(value)
        number = float(value)
        if kind == "int":
            if number != int(number):
                raise ValueError(value)
            return int(number)
        return number
    except (TypeError, ValueError):
        expected = {"int": "a whole number", "float": "a number"}.get(kind, "a map of class: probability")
        raise ConfigError(f"{source}: rule '{name}' is {value!r}; give {expected}") from None


def load_rules(path: str | Path) -> dict[str, Any]:
    """The settings of a rules YAML: a mapping of `DecisionRules` field names to values."""
    from actrec.io.yaml_file import read_yaml

    settings = read_yaml(path, "rules file") or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: a rules file is a mapping such as 'enter: 0.7', not a {type(settings).__name__}")
    known = [f.name for f in fields(DecisionRules)]
    unknown = [name for name in settings if name not in known]
    if unknown:
        raise ConfigError(f"{path}: unknown rule '{unknown[0]}'; use any of {', '.join(known)}")
    return settings


@dataclass(slots=True)
class Decision:
    """What the recognizer says at one frame; one per pushed frame, never skipped.

    probabilities: the model's `[C]` output at this frame (None on a missing frame).
    smoothed: `[C]` after smoothing (None until the first real frame after a reset).
    raw_label: argmax of `probabilities` (None on a missing frame).
    label: the stable label: a class name, `unknown` or `no one`.
    confidence: smoothed probability of `label` (of the best class when `label` is not a class).
    events: the start/end events emitted at this frame.
    """

    frame: int
    time: float
    probabilities: np.ndarray | None
    smoothed: np.ndarray | None
    raw_label: str | None
    label: str
    confidence: float
    events: list[Event]
    missing: bool = False


@dataclass
class _Run:
    label: str
    frame: int
    time: float


@dataclass
class _Lead:
    """A stretch of frames over which one class leads the smoothed probabilities, followed so a
    class that led long enough for an event but gave none can be named (`DecisionMaker.notes`).

    held: the highest value the class kept on every frame of `min_event_frames` in a row (-1 while
    the stretch is shorter): the highest enter threshold at which it could have started an event.
    window: (frame, value) of the last `min_event_frames` frames with increasing values, whose
    first entry is their minimum (a monotonic queue: O(1) a frame).
    """

    index: int
    frame: int
    time: float
    end_time: float
    peak: float = 0.0
    held: float = -1.0
    had_event: bool = False
    window: deque[tuple[int, float]] = field(default_factory=deque)


class DecisionMaker:
    """Stateful rules over a stream of probability vectors; `update` once per frame."""

    def __init__(self, rules: DecisionRules, label_names: list[str], sample_rate_hz: float) -> None:
        rules.check(label_names)
        self.rules = rules
        self.label_names = list(label_names)
        self.min_event_frames = max(1, math.ceil(rules.min_event_s * sample_rate_hz - 1e-9))
        self.enter = [rules.enter_for(name) for name in label_names]
        self.exit = [rules.exit_for(name) for name in label_names]
        self.index = {name: i for i, name in enumerate(label_names)}
        self.alpha = np.float32(2.0 / (rules.smoothing_frames + 1))
        self.highest = 0.0  # the leading class's highest smoothed probability so far, for `no_event_reason`
        self.started: set[str] = set()  # the classes that started an event so far
        # class index -> its stretch that came closest to an event among those that led with none,
        # and how many such stretches it had (`notes`)
        self.missed: dict[int, _Lead] = {}
        self.missed_counts: dict[int, int] = {}
        self.lead: _Lead | None = None
        self.reset()

    def reset(self) -> None:
        self._close_lead()
        self.label = self.rules.unknown_label
        self.smoothed: np.ndarray | None = None
        self.recent: deque[np.ndarray] = deque(maxlen=self.rules.smoothing_frames)
        self.votes: deque[tuple[str, int, float]] = deque()  # (candidate, frame, time)
        self.vote_counts: dict[str, int] = {}
        self.pending: _Run | None = None
        self.active: _Run | None = None
        self.peak = 0.0
        self.confidence = 0.0
        self.last_end: _Run | None = None
        self.missing_since: _Run | None = None

    @property
    def absent(self) -> bool:
        """True while the stable label is `no one`."""
        return self.label == self.rules.no_one_label

    def update(self, frame: int, time: float, probabilities: np.ndarray | None) -> Decision:
        """The decision at `frame`; `probabilities` None marks a missing frame."""
        if probabilities is None:
            return self._missing(frame, time)
        self.missing_since = None
        if self.absent:
            self.label = self.rules.unknown_label
        smoothed = self._smooth(np.asarray(probabilities, dtype=np.float32))
        values = smoothed.tolist()  # Python floats: cheaper to index and compare than NumPy scalars
        best = int(smoothed.argmax())
        if values[best] > self.highest:
            self.highest = values[best]
        candidate = self.label_names[best] if values[best] >= self.enter[best] else self.rules.unknown_label
        winner = self._vote(candidate, frame, time)
        events: list[Event] = []
        if self.active is not None:
            value = values[self.index[self.active.label]]
            if value >= self.exit[self.index[self.active.label]]:
                self.peak = max(self.peak, value)
            else:
                events.append(self._end(frame, time))
        self._track_pending(winner)
        if self.active is None and self.pending is not None and frame - self.pending.frame + 1 >= self.min_event_frames:
            pending_index = self.index[self.pending.label]
            if values[pending_index] >= self.enter[pending_index]:  # not on stale votes alone
                events.append(self._start(self.pending, values[pending_index]))
        self.confidence = values[self.index[self.label]] if self.active is not None else values[best]
        self._follow_lead(best, values[best], frame, time)
        raw_label = self.label_names[int(probabilities.argmax())]
        return Decision(frame, time, probabilities, smoothed, raw_label, self.label, self.confidence, events)

    def no_event_reason(self) -> str:
        """One line for a stream that gave no event: whether the smoothed probabilities ever
        reached the enter threshold, and which rule to loosen."""
        rules = self.rules
        lowest_enter = min(self.enter, default=rules.enter)
        if self.highest < lowest_enter:
            return (
                f"no event: the leading class's smoothed probability peaked at {self.highest:.2f}, under the enter "
                f"threshold {lowest_enter:g}; lower --enter, or fit the rules to a labelled session with --calibrate"
            )
        return (
            f"no event: a class reached the enter threshold but never led {rules.vote_k} of {rules.vote_n} frames for "
            f"the minimum event of {rules.min_event_s:.2f} s; lower --vote-k or --min-event-s, or use --calibrate"
        )

    def notes(self) -> list[str]:
        """What a person needs to know of the events that did not come: one line per class that
        gave no event although it led the smoothed probabilities, at or above its exit threshold,
        for the minimum event (the value it held that long against its enter threshold, and the
        threshold that would have started it); with no event at all and no such class,
        `no_event_reason`. A class that gave events elsewhere is left out: its rules can work."""
        missed, counts = dict(self.missed), dict(self.missed_counts)
        lead = self.lead  # the stretch still open
        if lead is not None and self._missed(lead):
            counts[lead.index] = counts.get(lead.index, 0) + 1
            if lead.index not in missed or lead.held > missed[lead.index].held:
                missed[lead.index] = lead
        lines = [
            self._missed_line(missed[index], counts[index])
            for index in sorted(missed)
            if self.label_names[index] not in self.started
        ]
        if not lines and not self.started and self.highest > 0:
            lines.append(self.no_event_reason())
        return lines

    def _missed_line(self, lead: _Lead, count: int) -> str:
        name, rules = self.label_names[lead.index], self.rules
        enter, exit = self.enter[lead.index], self.exit[lead.index]
        more = f"; {count - 1} more stretch(es) like it" if count > 1 else ""
        where = (
            f"'{name}' led the smoothed probabilities for {lead.end_time - lead.time:.1f} s "
            f"({lead.time:.1f}-{lead.end_time:.1f} s{more}) without an event"
        )
        if lead.held >= enter:
            return (
                f"{where}: it held {lead.held:.2f}, over its enter threshold {enter:g}, for the minimum event, "
                f"while another class's event stayed open above its exit threshold; a higher --exit ends events sooner"
            )
        held = math.floor(lead.held * 100) / 100  # rounded down: a threshold at this value is reached
        return (
            f"{where}: its smoothed probability peaked at {lead.peak:.2f} and held only {held:g} for the "
            f"minimum event of {rules.min_event_s:.2f} s, so its enter threshold {enter:g} is out of its reach on "
            f"this stream; pass --threshold {name}={max(exit, held):g} (or a lower --enter), or fit the rules "
            f"to a labelled session with --calibrate"
        )

    def _follow_lead(self, best: int, value: float, frame: int, time: float) -> None:
        """Extend the stretch `best` leads (or start one), keeping its peak and the sliding
        minimum of its last `min_event_frames` values."""
        lead = self.lead
        if lead is None or lead.index != best:
            self._close_lead()
            lead = self.lead = _Lead(best, frame, time, time)
        elif lead.had_event:  # nothing to follow: the usual frame of a stream that gives events
            return
        if self.active is not None and self.active.label == self.label_names[best]:
            lead.had_event = True
            return
        lead.end_time = time
        if value > lead.peak:
            lead.peak = value
        window = lead.window
        while window and window[-1][1] >= value:
            window.pop()
        window.append((frame, value))
        if window[0][0] <= frame - self.min_event_frames:
            window.popleft()
        if frame - lead.frame + 1 >= self.min_event_frames and window[0][1] > lead.held:
            lead.held = window[0][1]

    def _missed(self, lead: _Lead) -> bool:
        """True for a stretch that gave no event although its class held, for the minimum event,
        at least its exit threshold (the level that keeps an open event open): near an event,
        not a weak lead between actions."""
        return not lead.had_event and lead.held >= self.exit[lead.index]

    def _close_lead(self) -> None:
        """End the open stretch; keep it in `missed` if it came near an event but gave none
        (`_missed`), and closer than its class's earlier such stretches."""
        lead, self.lead = self.lead, None
        if lead is None or not self._missed(lead):
            return
        self.missed_counts[lead.index] = self.missed_counts.get(lead.index, 0) + 1
        earlier = self.missed.get(lead.index)
        if earlier is None or lead.held > earlier.held:
            lead.window = deque()  # its sliding minimum is not needed any more
            self.missed[lead.index] = lead

    def finish(self, frame: int, time: float) -> list[Event]:
        """Close the open event at the end of the stream."""
        return [self._end(frame, time)] if self.active is not None else []

    def _smooth(self, probabilities: np.ndarray) -> np.ndarray:
        rules = self.rules
        if rules.smoothing == "none":
            smoothed = probabilities
        elif rules.smoothing == "mean":
            self.recent.append(probabilities)
            smoothed = np.asarray(np.mean(self.recent, axis=0, dtype=np.float32))
        elif self.smoothed is None:
            smoothed = probabilities
        else:  # a new array each frame: earlier Decisions keep their own values
            smoothed = probabilities - self.smoothed
            smoothed *= self.alpha
            smoothed += self.smoothed
        self.smoothed = smoothed
        return smoothed

    def _vote(self, candidate: str, frame: int, time: float) -> str | None:
        """Add this frame's candidate; the class with at least k of the last n votes, if any."""
        self.votes.append((candidate, frame, time))
        self.vote_counts[candidate] = self.vote_counts.get(candidate, 0) + 1
        if len(self.votes) > self.rules.vote_n:
            self.vote_counts[self.votes.popleft()[0]] -= 1
        label = max(self.vote_counts, key=self.vote_counts.__getitem__)
        if self.vote_counts[label] >= self.rules.vote_k and label in self.index:
            return label
        return None

    def _track_pending(self, winner: str | None) -> None:
        """Follow the run of the current vote winner when it differs from the active label; the
        run dates from the winner's first vote still in the voting window."""
        if winner is None or (self.active is not None and winner == self.active.label):
            self.pending = None
        elif self.pending is None or self.pending.label != winner:
            frame, time = next((f, t) for label, f, t in self.votes if label == winner)
            self.pending = _Run(winner, frame, time)

    def _start(self, run: _Run, confidence: float) -> Event:
        if self.last_end is not None and run.frame < self.last_end.frame:
            # The run began while the previous label was still active: start where it stopped.
            run = _Run(run.label, self.last_end.frame, self.last_end.time)
        self.active, self.pending = run, None
        self.label = run.label
        self.peak = confidence
        self.started.add(run.label)
        return Event("start", run.label, run.time, run.frame, confidence)

    def _end(self, frame: int, time: float) -> Event:
        assert self.active is not None
        event = Event("end", self.active.label, time, frame, self.peak)
        self.last_end = _Run(self.active.label, frame, time)
        self.active = None
        self.label = self.rules.unknown_label
        return event

    def _missing(self, frame: int, time: float) -> Decision:
        if self.missing_since is None:
            self.missing_since = _Run("", frame, time)
        events: list[Event] = []
        if not self.absent and time - self.missing_since.time >= self.rules.no_one_after_s:
            if self.active is not None:
                events.append(self._end(self.missing_since.frame, self.missing_since.time))
            gone_since = self.missing_since
            self.reset()
            self.missing_since = gone_since
            self.label = self.rules.no_one_label
        return Decision(frame, time, None, self.smoothed, None, self.label, self.confidence, events, missing=True)
