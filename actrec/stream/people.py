"""Streaming several people: one `Streamer` and decision state per track, events tagged with the
track id, and a person who leaves has their open event closed.

`PeopleStreamer.push(people, time)` takes `{track_id: keypoints [J, C]}` for one frame (what
`extract.people.PeoplePoser` gives) and returns a `PeopleDecision`; `run_stream` drives it like a
single Streamer, so the threads, sinks and CLI are shared.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actrec.errors import ConfigError
from actrec.stream.decisions import Decision
from actrec.stream.engine import Streamer
from actrec.stream.events import Event
from actrec.tracking import TrackerConfig

LEAVE_AFTER_FRAMES = TrackerConfig().max_missed  # a person is gone when the tracker ends them


@dataclass
class PeopleDecision:
    """One frame's decisions: `people` per track seen or still followed, `events` of all tracks
    (each with its `track`), `left` the tracks that ended at this frame."""

    frame: int
    time: float
    people: dict[int, Decision] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    left: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        """`1: walk, 2: fall`, or `no one`."""
        return ", ".join(f"{track}: {decision.label}" for track, decision in sorted(self.people.items())) or "no one"

    @property
    def confidence(self) -> float:
        return max((decision.confidence for decision in self.people.values()), default=0.0)


@dataclass
class _Person:
    streamer: Streamer
    first_frame: int
    missed: int = 0


class PeopleStreamer:
    """One Streamer per track, forked from `template` (`Streamer.fork`: one model, what it built
    shared, each person's own state) when the track first appears; `template` itself is never pushed.

    leave_after_frames: frames a track may be missing before the person counts as gone (their
      Streamer is finished, closing any open event, and dropped); match the tracker's `max_missed`.
    """

    def __init__(self, template: Streamer, leave_after_frames: int = LEAVE_AFTER_FRAMES) -> None:
        if leave_after_frames < 0:
            raise ConfigError(f"leave_after_frames is {leave_after_frames}; use 0 or more frames")
        self.leave_after_frames = leave_after_frames
        self.template = template  # the model, rules, rate and description every person shares
        self.rules = self.template.rules
        self.sample_rate_hz = self.template.sample_rate_hz
        self.tracks: dict[int, _Person] = {}
        self.frame_index = 0
        self.last_time = 0.0

    def describe(self) -> str:
        return f"per person ({len(self.tracks)} followed now); each {self.template.describe()}"

    def push(self, people: dict[int, np.ndarray] | None, time: float | None = None) -> PeopleDecision:
        """Decisions for frame `people` (`{track_id: [J, C]}`; None or {} when nobody is seen)."""
        index = self.frame_index
        self.frame_index += 1
        self.last_time = index / self.sample_rate_hz if time is None else float(time)
        people = people or {}
        decision = PeopleDecision(index, self.last_time)
        for track in people:
            if track not in self.tracks:
                self.tracks[track] = _Person(self.template.fork(), index)
        for track, person in list(self.tracks.items()):
            keypoints = people.get(track)
            person.missed = 0 if keypoints is not None else person.missed + 1
            if person.missed > self.leave_after_frames:
                decision.events += self._tagged(person.streamer.finish(), track, person)
                decision.left.append(track)
                del self.tracks[track]
                continue
            made = person.streamer.push(keypoints, self.last_time)
            decision.people[track] = made
            decision.events += self._tagged(made.events, track, person)
        return decision

    def finish(self) -> list[Event]:
        """End events of every person still followed when the stream stops."""
        events = []
        for track, person in self.tracks.items():
            events += self._tagged(person.streamer.finish(), track, person)
        self.tracks = {}
        return events

    @staticmethod
    def _tagged(events: list[Event], track: int, person: _Person) -> list[Event]:
        """Events with the track id and stream frame numbers (a person's Streamer counts from
        the frame they appeared)."""
        return [dataclasses.replace(event, track=track, frame=event.frame + person.first_frame) for event in events]


def people_streamer(recognizer: Any, leave_after_frames: int = LEAVE_AFTER_FRAMES, **options: Any) -> PeopleStreamer:
    """A PeopleStreamer over `recognizer`, each person's Streamer forked from one built with `options`."""
    return PeopleStreamer(Streamer(recognizer, **options), leave_after_frames)
