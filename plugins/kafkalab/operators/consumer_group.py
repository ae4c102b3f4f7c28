"""Run a consumer group over a topic and return per-partition digests of what it saw."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from kafkalab.domain.offsets import offsets_for
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.kafka.consumer_groups import run_consumer_group


class ConsumerGroupRunOperator(BaseOperator):
    """Consume ``topic`` as ``group`` from the beginning up to ``until`` and commit.

    ``until`` is ``{partition: offset}`` or an offset snapshot (``{"topics": {...}}``)
    from SnapshotEndOffsetsOperator; default: the end offsets when the task starts.
    """

    template_fields: Sequence[str] = ("group", "topic", "until", "window_start")
    ui_color = "#e9f7ef"

    def __init__(
        self,
        *,
        group: str,
        topic: str,
        until: dict | None = None,
        window_start: dict | None = None,
        from_beginning: bool = True,
        timeout_seconds: float = 600.0,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.topic = topic
        self.until = until
        self.window_start = window_start
        self.from_beginning = from_beginning
        self.timeout_seconds = timeout_seconds
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        until = offsets_for(self.topic, self.until)
        result = run_consumer_group(
            LabKafkaHook(self.kafka_config_id).client_config(),
            self.group,
            self.topic,
            until=until,
            window_start=offsets_for(self.topic, self.window_start),
            from_beginning=self.from_beginning,
            timeout=self.timeout_seconds,
            progress=self.log.info,
        )
        self.log.info(
            "group %s consumed %d records of %s in %.1fs",
            self.group,
            result["consumed"],
            self.topic,
            result["seconds"],
        )
        return result
