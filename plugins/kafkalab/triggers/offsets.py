"""Poll topics' end offsets until each advanced by at least a number of records."""

from __future__ import annotations

import asyncio
from typing import Any

from kafkalab.triggers.base import PollingTrigger


class EndOffsetsAdvancedTrigger(PollingTrigger):
    def __init__(
        self,
        kafka_config_id: str,
        before: dict[str, dict[str, int]],
        min_advance: dict[str, int],
        poll_interval: float = 2.0,
        timeout: float = 300.0,
    ) -> None:
        super().__init__(poll_interval=poll_interval, timeout=timeout)
        self.kafka_config_id = kafka_config_id
        self.before = before
        self.min_advance = min_advance

    async def connect(self) -> None:
        from kafkalab.hooks.kafka import LabKafkaHook

        self.admin = await self.hold(lambda: LabKafkaHook(self.kafka_config_id).lab_admin())
        self.advanced: dict[str, int] = {}

    async def poll(self) -> bool:
        for topic in self.min_advance:
            end = await asyncio.to_thread(self.admin.end_offsets, topic)
            start = self.before.get(topic, {})
            self.advanced[topic] = sum(o - int(start.get(str(p), 0)) for p, o in end.items())
        return all(self.advanced[t] >= n for t, n in self.min_advance.items())

    def figures(self, met: bool, waited: float) -> dict[str, Any]:
        return {"advanced": dict(self.advanced), "expected": self.min_advance}
