"""Topics of a test run: reading back what it put in them, and deleting the ones it made."""

from __future__ import annotations

import json
from collections import Counter

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from kafkalab.domain.schemas import STREAMS
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.kafka.client import admin_config
from kafkalab.kafka.ranges import read_between
from kafkalab.settings import LabSettings


def snapshot(settings) -> dict[str, dict[int, int]]:
    admin = KafkaAdmin(settings)
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


class CreatedTopics:
    """Topics a test session creates, all deleted when it ends."""

    def __init__(self, settings: LabSettings) -> None:
        self.admin = AdminClient(admin_config(settings))
        self.names: list[str] = []

    def create(self, name: str, partitions: int = 3) -> str:
        future = self.admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )[name]
        self.track(name)
        future.result()
        return name

    def track(self, name: str) -> str:
        """A topic created another way (an operator, a Kafka tool) that must go too."""
        if name not in self.names:
            self.names.append(name)
        return name

    def delete_all(self) -> None:
        if not self.names:
            return
        for name, future in self.admin.delete_topics(self.names).items():
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise AssertionError(f"could not delete test topic {name}: {error}") from error
        self.names.clear()
