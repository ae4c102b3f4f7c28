"""Poll a consumer group's lag in the triggerer until a condition holds or time runs out."""

from __future__ import annotations

import asyncio
from typing import Any

from kafkalab.domain.lag import LagCondition, LagSnapshot, LagWatch
from kafkalab.triggers.base import PollingTrigger


class ConsumerLagTrigger(PollingTrigger):
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
        super().__init__(poll_interval=poll_interval, timeout=timeout)
        self.kafka_config_id = kafka_config_id
        self.group = group
        self.topics = topics
        self.mode = mode
        self.threshold = threshold
        self.per_partition = per_partition
        self.hold_for = hold_for
        self.baseline_total = baseline_total
        self.with_time_lag = with_time_lag

    def condition(self) -> LagCondition:
        return LagCondition(self.mode, self.threshold, self.per_partition, self.hold_for)  # type: ignore[arg-type]

    async def connect(self) -> None:
        from kafkalab.hooks.kafka import LabKafkaHook

        self.admin = await self.hold(lambda: LabKafkaHook(self.kafka_config_id).lab_admin())
        self.watch = LagWatch(self.condition(), baseline_total=self.baseline_total)

    async def poll(self) -> bool:
        self.snapshot: LagSnapshot = await asyncio.to_thread(
            self.admin.lag, self.group, self.topics, self.with_time_lag
        )
        return self.watch.observe(self.snapshot)

    def figures(self, met: bool, waited: float) -> dict[str, Any]:
        return {
            "baseline_total": self.watch.baseline_total,
            "samples": self.watch.samples,
            "snapshot": self.snapshot.to_dict(),
            "message": None if met else self.watch.failure_message(self.snapshot, waited),
        }
