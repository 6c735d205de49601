"""The service's Prometheus metrics, in a registry of their own per app (so several apps, as in
tests, never collide in the global one). Frames per second is `rate(actrec_frames_total[1m])`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

# Added latency per frame: from the message arriving to its decision being sent.
LATENCY_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, process_cpu_seconds_total
        self.sessions = Gauge("actrec_sessions", "Open streaming sessions", ["model"], registry=self.registry)
        self.sessions_opened = Counter(
            "actrec_sessions_opened", "Streaming sessions opened", ["model"], registry=self.registry
        )
        self.refused = Counter(
            "actrec_sessions_refused",
            "Connections refused, by reason (server_full, unauthorized)",
            ["reason"],
            registry=self.registry,
        )
        self.frames = Counter("actrec_frames", "Frames decided", ["model"], registry=self.registry)
        self.dropped = Counter(
            "actrec_dropped_frames",
            "Frames dropped by full session queues (oldest first)",
            ["model"],
            registry=self.registry,
        )
        self.errors = Counter(
            "actrec_errors", "Refused messages and requests, by code", ["code"], registry=self.registry
        )
        self.latency = Histogram(
            "actrec_frame_latency_seconds",
            "Seconds from a frame's arrival to its decision sent",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.predictions = Counter(
            "actrec_predict_sequences", "Sequences predicted over HTTP", ["model"], registry=self.registry
        )
