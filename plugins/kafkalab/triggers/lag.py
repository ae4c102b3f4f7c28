"""Poll a consumer group's lag in the triggerer until a condition holds or time runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from kafkalab.domain.lag import LagCondition, LagWatch


class ConsumerLagTrigger(BaseTrigger):
    """Fires once with ``status`` ``met`` or ``timeout``, the last snapshot and the samples."""

    def __init__(
        self,
        kafka_config_id: str,
        group: str,
        topics: list[str],
        mode: str,
        threshold: int,
        per_partition: bool = False,
        hold_for: float = 0.0,
        baseline_total: int | None = None,
        with_time_lag: bool = False,
        poll_interval: float = 2.0,
        timeout: float = 300.0,
    ) -> None:
        super().__init__()
        self.kafka_config_id = kafka_config_id
        self.group = group
        self.topics = topics
        self.mode = mode
        self.threshold = threshold
        self.per_partition = per_partition
        self.hold_for = hold_for
        self.baseline_total = baseline_total
        self.with_time_lag = with_time_lag
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "kafkalab.triggers.lag.ConsumerLagTrigger",
            {
                "kafka_config_id": self.kafka_config_id,
                "group": self.group,
                "topics": self.topics,
                "mode": self.mode,
                "threshold": self.threshold,
                "per_partition": self.per_partition,
                "hold_for": self.hold_for,
                "baseline_total": self.baseline_total,
                "with_time_lag": self.with_time_lag,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            },
        )

    def condition(self) -> LagCondition:
        return LagCondition(self.mode, self.threshold, self.per_partition, self.hold_for)  # type: ignore[arg-type]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from kafkalab.hooks.kafka import LabKafkaHook

        admin = await asyncio.to_thread(lambda: LabKafkaHook(self.kafka_config_id).lab_admin())
        watch = LagWatch(self.condition(), baseline_total=self.baseline_total)
        started = time.monotonic()
        while True:
            snapshot = await asyncio.to_thread(
                admin.lag, self.group, self.topics, self.with_time_lag
            )
            met = watch.observe(snapshot)
            waited = time.monotonic() - started
            if met or waited >= self.timeout:
                yield TriggerEvent(lag_event(watch, snapshot, waited, met))
                return
            await asyncio.sleep(self.poll_interval)


def lag_event(watch: LagWatch, snapshot, waited: float, met: bool) -> dict[str, Any]:
    return {
        "status": "met" if met else "timeout",
        "waited_seconds": round(waited, 3),
        "baseline_total": watch.baseline_total,
        "samples": watch.samples,
        "snapshot": snapshot.to_dict(),
        "message": None if met else watch.failure_message(snapshot, waited),
    }
