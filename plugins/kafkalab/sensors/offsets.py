"""Wait until topics' end offsets advanced by at least what a producer says it published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.triggers.inline import run_trigger_inline
from kafkalab.triggers.offsets import EndOffsetsAdvancedTrigger


class EndOffsetsAdvancedSensor(BaseOperator):
    """``before`` is an end-offset snapshot; ``min_advance`` is ``{topic: records}`` or a
    generator summary (its per-topic acknowledged counts)."""

    template_fields: Sequence[str] = ("before", "min_advance", "timeout_seconds")
    ui_color = "#e8f4f8"

    def __init__(
        self,
        *,
        before: dict,
        min_advance: dict,
        poll_interval: float = 2.0,
        timeout_seconds: float | str = 300.0,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.before = before
        self.min_advance = min_advance
        self.poll_interval = poll_interval
        self.timeout_seconds = timeout_seconds
        self.kafka_config_id = kafka_config_id
        self.deferrable = deferrable

    def execute(self, context: Context) -> dict[str, Any]:
        advance = self.min_advance
        if "topics" in advance and isinstance(advance["topics"], dict):
            advance = {t: c["acknowledged"] for t, c in advance["topics"].items()}
        before = self.before.get("topics", self.before)
        trigger = EndOffsetsAdvancedTrigger(
            self.kafka_config_id,
            {t: {str(p): int(o) for p, o in offsets.items()} for t, offsets in before.items()},
            {t: int(n) for t, n in advance.items()},
            self.poll_interval,
            float(self.timeout_seconds),
        )
        if not self.deferrable:
            return self.execute_complete(context, run_trigger_inline(trigger))
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=dt.timedelta(seconds=trigger.timeout + 120),
        )
        return {}

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        if event["status"] != "met":
            short = {
                t: f"{event['advanced'][t]} of {n}"
                for t, n in event["expected"].items()
                if event["advanced"][t] < n
            }
            raise AirflowFailException(
                f"end offsets did not advance by the acknowledged counts within "
                f"{event['waited_seconds']:.0f}s: {short}"
            )
        return event
