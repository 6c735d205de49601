"""Live recognition: `Streamer.push(frame) -> Decision`, decision rules, events, sources, sinks."""

from actrec.stream.decisions import Decision, DecisionRules
from actrec.stream.engine import Streamer
from actrec.stream.events import Event, EventWriter, event_segments, read_events
from actrec.stream.live import StreamReport, stream_source

__all__ = [
    "Decision",
    "DecisionRules",
    "Event",
    "EventWriter",
    "StreamReport",
    "Streamer",
    "event_segments",
    "read_events",
    "stream_source",
]
