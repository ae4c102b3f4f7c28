"""Poll topics' end offsets until each advanced by at least a number of records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class EndOffsetsAdvancedTrigger(BaseTrigger):
    def __init__(
        self,
        kafka_config_id: str,
        before: dict[str, dict[str, int]],
        min_advance: dict[str, int],
        poll_interval: float = 2.0,
        timeout: float = 300.0,
    ) -> None:
        super().__init__()
        self.kafka_config_id = kafka_config_id
        self.before = before
        self.min_advance = min_advance
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "kafkalab.triggers.offsets.EndOffsetsAdvancedTrigger",
            {
                "kafka_config_id": self.kafka_config_id,
                "before": self.before,
                "min_advance": self.min_advance,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from kafkalab.hooks.kafka import LabKafkaHook

        admin = await asyncio.to_thread(lambda: LabKafkaHook(self.kafka_config_id).lab_admin())
        started = time.monotonic()
        while True:
            advanced = {}
            for topic in self.min_advance:
                end = await asyncio.to_thread(admin.end_offsets, topic)
                start = self.before.get(topic, {})
                advanced[topic] = sum(o - int(start.get(str(p), 0)) for p, o in end.items())
            met = all(advanced[t] >= n for t, n in self.min_advance.items())
            waited = time.monotonic() - started
            if met or waited >= self.timeout:
                yield TriggerEvent(
                    {
                        "status": "met" if met else "timeout",
                        "advanced": advanced,
                        "expected": self.min_advance,
                        "waited_seconds": round(waited, 3),
                    }
                )
                return
            await asyncio.sleep(self.poll_interval)
