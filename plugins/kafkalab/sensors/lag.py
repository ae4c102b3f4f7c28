"""Wait for a consumer group's lag to reach a condition; fail with the per-partition figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from kafkalab.domain.lag import LagCondition
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.sensors.base import DeferrableSensor
from kafkalab.triggers.lag import ConsumerLagTrigger


class ConsumerLagSensor(DeferrableSensor):
    """Wait until ``group``'s lag on ``topics`` satisfies ``mode``/``threshold``.

    Modes (see ``kafkalab.domain.lag.LagCondition``): ``at_most`` (optionally per partition,
    held for ``hold_for`` seconds), ``grows_by`` (from ``baseline_total``, default
    the first observation), ``drains_to``. The figures are those of
    `kafka-consumer-groups --describe`. Returns the final snapshot, the samples taken
    (for the report's lag plot) and the time waited; on timeout the task fails with
    the per-partition table.
    """

    template_fields: Sequence[str] = (
        "group",
        "topics",
        "threshold",
        "hold_for",
        "baseline_total",
        "timeout_seconds",
    )

    def __init__(
        self,
        *,
        group: str,
        topics: list[str] | str,
        mode: str = "at_most",
        threshold: int | str = 0,
        per_partition: bool = False,
        hold_for: float = 0.0,
        baseline_total: int | str | None = None,
        with_time_lag: bool = False,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        LagCondition(mode, 0, per_partition)  # type: ignore[arg-type]  # a bad mode fails at parse
        self.group = group
        self.topics = topics
        self.mode = mode
        self.threshold = threshold
        self.per_partition = per_partition
        self.hold_for = hold_for
        self.baseline_total = baseline_total
        self.with_time_lag = with_time_lag
        self.kafka_config_id = kafka_config_id

    def trigger(self) -> ConsumerLagTrigger:
        topics = [self.topics] if isinstance(self.topics, str) else list(self.topics)
        baseline = self.baseline_total
        return ConsumerLagTrigger(
            kafka_config_id=self.kafka_config_id,
            group=self.group,
            topics=topics,
            mode=self.mode,
            threshold=int(self.threshold),
            per_partition=self.per_partition,
            hold_for=float(self.hold_for),
            baseline_total=int(baseline) if baseline not in (None, "", "None") else None,
            with_time_lag=self.with_time_lag,
            poll_interval=self.poll_interval,
            timeout=float(self.timeout_seconds),
        )

    def execute(self, context: Context) -> dict[str, Any]:
        trigger = self.trigger()
        self.log.info(
            "waiting for group %s on %s: %s",
            self.group,
            trigger.topics,
            trigger.condition().describe(trigger.baseline_total),
        )
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        event = super().execute_complete(context, event)
        self.log.info(
            "condition met after %.1fs; total lag %s",
            event["waited_seconds"],
            event["snapshot"]["total_lag"],
        )
        return event
