"""Wait until topics' end offsets advanced by at least what a producer says it published."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.sensors.base import DeferrableSensor
from kafkalab.triggers.offsets import EndOffsetsAdvancedTrigger


class EndOffsetsAdvancedSensor(DeferrableSensor):
    """``before`` is an end-offset snapshot; ``min_advance`` is ``{topic: records}`` or a
    generator summary (its per-topic acknowledged counts)."""

    template_fields: Sequence[str] = ("before", "min_advance", "timeout_seconds")

    def __init__(
        self,
        *,
        before: dict,
        min_advance: dict,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.before = before
        self.min_advance = min_advance
        self.kafka_config_id = kafka_config_id

    def trigger(self) -> EndOffsetsAdvancedTrigger:
        advance = self.min_advance
        if "topics" in advance and isinstance(advance["topics"], dict):
            advance = {t: c["acknowledged"] for t, c in advance["topics"].items()}
        before = self.before.get("topics", self.before)
        return EndOffsetsAdvancedTrigger(
            self.kafka_config_id,
            {t: {str(p): int(o) for p, o in offsets.items()} for t, offsets in before.items()},
            {t: int(n) for t, n in advance.items()},
            self.poll_interval,
            float(self.timeout_seconds),
        )

    def failure_message(self, event: dict[str, Any]) -> str:
        short = {
            t: f"{event['advanced'][t]} of {n}"
            for t, n in event["expected"].items()
            if event["advanced"][t] < n
        }
        return (
            f"end offsets did not advance by the acknowledged counts within "
            f"{event['waited_seconds']:.0f}s: {short}"
        )
