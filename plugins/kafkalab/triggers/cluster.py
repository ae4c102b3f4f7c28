"""Poll a topic's partition leaders and in-sync replicas until a condition holds."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kafkalab.domain.cluster import Condition, PartitionState, condition_holds
from kafkalab.triggers.base import PollingTrigger


class PartitionStateTrigger(PollingTrigger):
    """``condition`` of ``kafkalab.domain.cluster`` about ``broker``; ``since`` is the Unix
    time the event's ``seconds_since`` counts from (the kill, the restart)."""

    def __init__(
        self,
        kafka_config_id: str,
        topic: str,
        condition: Condition,
        broker: int,
        since: float,
        poll_interval: float = 0.5,
        timeout: float = 300.0,
    ) -> None:
        super().__init__(poll_interval=poll_interval, timeout=timeout)
        self.kafka_config_id = kafka_config_id
        self.topic = topic
        self.condition = condition
        self.broker = broker
        self.since = since

    async def connect(self) -> None:
        from kafkalab.hooks.kafka import LabKafkaHook

        # Short requests: with a broker down, a metadata request to it must not hold
        # up the next observation.
        self.admin = await self.hold(
            lambda: LabKafkaHook(self.kafka_config_id).lab_admin(timeout=5.0)
        )
        self.states: list[PartitionState] = []
        self.observed_at: float | None = None
        self.error: str | None = None

    async def poll(self) -> bool:
        try:
            self.states = await asyncio.to_thread(self.admin.partition_states, self.topic)
        except Exception as exc:  # the cluster is changing under us: look again
            self.error = str(exc)
            return False
        self.observed_at = time.time()
        return condition_holds(self.condition, self.states, self.broker)

    def figures(self, met: bool, waited: float) -> dict[str, Any]:
        observed = self.observed_at if self.observed_at is not None else time.time()
        return {
            "topic": self.topic,
            "condition": self.condition,
            "broker": self.broker,
            "seconds_since": round(observed - self.since, 3),
            "partitions": [s.to_dict() for s in self.states],
            "under_replicated": sum(s.under_replicated for s in self.states),
            "offline": sum(s.offline for s in self.states),
            "last_error": self.error,
        }
