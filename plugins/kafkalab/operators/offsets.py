"""Offset snapshots to XCom: a topic's end (or earliest) offsets, a group's committed ones."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.kafka.admin import UnknownTopic


class SnapshotEndOffsetsOperator(BaseOperator):
    """``{"taken_at": ..., "topics": {topic: {partition: end offset}}}`` (or earliest)."""

    template_fields: Sequence[str] = ("topics",)
    ui_color = "#f4ecf7"

    def __init__(
        self,
        *,
        topics: list[str] | str,
        which: str = "end",
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if which not in ("end", "earliest"):
            raise ValueError(f"which must be 'end' or 'earliest', not {which!r}")
        self.topics = topics
        self.which = which
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
            topics = [self.topics] if isinstance(self.topics, str) else list(self.topics)
            read = admin.end_offsets if self.which == "end" else admin.earliest_offsets
            try:
                offsets = {topic: {str(p): o for p, o in read(topic).items()} for topic in topics}
            except UnknownTopic as exc:
                raise AirflowFailException(str(exc)) from exc
        for topic, by_partition in offsets.items():
            self.log.info(
                "%s offsets of %s: %s (sum %d)",
                self.which,
                topic,
                by_partition,
                sum(by_partition.values()),
            )
        return {"taken_at": time.time(), "which": self.which, "topics": offsets}


class SnapshotGroupOffsetsOperator(BaseOperator):
    """``{"group": g, "topics": {topic: {partition: committed}}, "lag": snapshot}``."""

    template_fields: Sequence[str] = ("group", "topics")
    ui_color = "#f4ecf7"

    def __init__(
        self,
        *,
        group: str,
        topics: list[str] | str | None = None,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.topics = topics
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
            topics = [self.topics] if isinstance(self.topics, str) else self.topics
            committed = admin.committed_offsets(self.group, topics)
            lag = admin.lag(self.group, topics)
        self.log.info("%s", lag.table())
        return {
            "group": self.group,
            "taken_at": lag.taken_at,
            "topics": {t: {str(p): o for p, o in by_p.items()} for t, by_p in committed.items()},
            "lag": lag.to_dict(),
        }
