"""Reading back what a test run put into the lab's topics."""

from __future__ import annotations

import json
from collections import Counter

from kafkalab.domain.schemas import STREAMS
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.kafka.ranges import read_between


def snapshot(settings) -> dict[str, dict[int, int]]:
    admin = KafkaAdmin({"bootstrap.servers": settings.kafka_bootstrap})
    return {s.topic: admin.end_offsets(s.topic) for s in STREAMS.values()}


def ids_of_run(settings, before, after, run_id: str) -> dict[str, Counter]:
    seen: dict[str, Counter] = {}
    for stream in STREAMS.values():
        counter: Counter = Counter()
        for record in read_between(
            settings.kafka_bootstrap, stream.topic, before[stream.topic], after[stream.topic]
        ):
            event = json.loads(record.value)
            if event.get("run_id") == run_id:
                counter[event[stream.id_field]] += 1
        seen[stream.topic] = counter
    return seen
