"""What a generator run counted, per stream, and the summary it reports.

The summary's JSON is read elsewhere (XCom consumers, the exercises' checks, the status
file of a background run, reports): its keys and their order are part of the lab, and
new keys go after the existing ones.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from kafkalab.domain.latency import LatencyReservoir
from kafkalab.domain.schemas import STREAMS, StreamSpec, sequenced_id

COUNTERS = ("sent", "acknowledged", "rejected", "unacknowledged", "retries")

# A long outage would otherwise keep one message per retried batch.
MAX_ERRORS_KEPT = 1000
ERRORS_IN_SUMMARY = 10


@dataclass
class StreamCounts:
    topic: str
    sent: int = 0
    acknowledged: int = 0
    rejected: int = 0
    unacknowledged: int = 0
    retries: int = 0
    acknowledged_sequences: list[int] = field(default_factory=list, repr=False)
    # Acknowledgements per wall-clock second, shared by the run's streams.
    timeline: Counter[int] = field(default_factory=Counter, repr=False)

    def acknowledge(self, sequences: Iterable[int]) -> None:
        before = len(self.acknowledged_sequences)
        self.acknowledged_sequences.extend(sequences)
        added = len(self.acknowledged_sequences) - before
        self.acknowledged += added
        if added:
            self.timeline[int(time.time())] += added

    def id_range(self, stream: StreamSpec, run_id: str) -> dict[str, object]:
        if not self.acknowledged_sequences:
            return {"first_sequence": None, "last_sequence": None, "contiguous": True}
        low, high = min(self.acknowledged_sequences), max(self.acknowledged_sequences)
        return {
            "first_sequence": low,
            "last_sequence": high,
            "first_id": sequenced_id(stream.id_prefix, run_id, low),
            "last_id": sequenced_id(stream.id_prefix, run_id, high),
            "contiguous": high - low + 1 == len(set(self.acknowledged_sequences)),
        }

    def figures(self, stream: StreamSpec, run_id: str) -> dict[str, object]:
        return {
            **{counter: getattr(self, counter) for counter in COUNTERS},
            **self.id_range(stream, run_id),
        }


@dataclass
class GeneratorSummary:
    run_id: str
    target: str
    state: str
    started_at: str
    elapsed_seconds: float
    sent: int
    acknowledged: int
    rejected: int
    unacknowledged: int
    retries: int
    events_per_second: float
    topics: dict[str, dict[str, object]]
    errors: list[str]
    # HTTP requests timed from send to answer (each retry is a request of its own), with
    # p50/p99/max in ms; no requests (and None figures) for the kafka target.
    request_latency: dict[str, object]
    # Events acknowledged in each wall-clock second: ``counts[i]`` in the second that
    # starts at ``start + i`` (Unix time); how an outage shows in what producers see.
    acknowledged_per_second: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def line(self) -> str:
        per_topic = ", ".join(f"{t}: {c['acknowledged']}" for t, c in self.topics.items())
        latency = self.request_latency
        latency_text = (
            f", request p50 {latency['p50_ms']} ms p99 {latency['p99_ms']} ms"
            if latency["requests"]
            else ""
        )
        return (
            f"run {self.run_id} ({self.target}) {self.state}: sent {self.sent}, "
            f"acknowledged {self.acknowledged}, rejected {self.rejected}, "
            f"unacknowledged {self.unacknowledged}, retries {self.retries}, "
            f"{self.events_per_second:.0f} events/s{latency_text} [{per_topic}]"
        )


class RunCounts:
    """Per-stream counts and error messages; transports record into it, the runner reports it.

    Counts are keyed by stream and reported under the stream's own topic name, also
    when a Kafka run writes to other topics.
    """

    def __init__(self) -> None:
        self.timeline: Counter[int] = Counter()
        self.streams = {
            name: StreamCounts(topic=stream.topic, timeline=self.timeline)
            for name, stream in STREAMS.items()
        }
        self.errors: list[str] = []
        self.request_latency = LatencyReservoir()

    def __getitem__(self, stream_name: str) -> StreamCounts:
        return self.streams[stream_name]

    def note_error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)

    def summary(
        self,
        *,
        run_id: str,
        target: str,
        state: str,
        started_at: dt.datetime,
        elapsed_seconds: float,
    ) -> GeneratorSummary:
        elapsed = max(elapsed_seconds, 1e-9)
        total = {
            counter: sum(getattr(counts, counter) for counts in self.streams.values())
            for counter in COUNTERS
        }
        return GeneratorSummary(
            run_id=run_id,
            target=target,
            state=state,
            started_at=started_at.isoformat(),
            elapsed_seconds=round(elapsed, 3),
            events_per_second=round(total["acknowledged"] / elapsed, 1),
            topics={
                counts.topic: counts.figures(STREAMS[name], run_id)
                for name, counts in self.streams.items()
            },
            errors=self.errors[-ERRORS_IN_SUMMARY:],
            request_latency=self.request_latency.figures(),
            acknowledged_per_second=per_second(self.timeline),
            **total,
        )


def per_second(timeline: Counter[int]) -> dict[str, object]:
    """A dense series from the first second with an acknowledgement to the last."""
    if not timeline:
        return {"start": None, "counts": []}
    first, last = min(timeline), max(timeline)
    return {"start": first, "counts": [timeline[second] for second in range(first, last + 1)]}
