"""Run a consumer group over a topic and return per-partition digests of what it saw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from kafkalab.domain.offsets import Offsets, offsets_for
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.kafka.consumer_groups import Watch, run_consumer_group


def halfway(start: Mapping[str, Any], end: Mapping[str, Any], topic: str) -> Offsets:
    """Per partition, the offset halfway between two end-offset snapshots of ``topic``.

    Where a group is stopped mid-range: the seam between its two reads then falls
    inside the compared window, so the sequence checks see whether the resumed read
    lost or repeated anything.
    """
    before = offsets_for(topic, start) or {}
    return {
        p: before.get(p, 0) + (o - before.get(p, 0)) // 2
        for p, o in (offsets_for(topic, end) or {}).items()
    }


class ConsumerGroupRunOperator(BaseOperator):
    """Consume ``topic`` as ``group`` from the beginning up to ``until`` and commit.

    ``until`` is ``{partition: offset}`` or an offset snapshot (``{"topics": {...}}``)
    from SnapshotEndOffsetsOperator; default: the end offsets when the task starts.
    ``stop_at`` (same shapes, or None) stops it earlier; ``follow_seconds`` keeps it
    reading past ``until`` as a live consumer; ``resume`` starts it from its committed
    offsets (``window_start`` then only bounds the digests). Commits the position it
    reached.

    ``watch_group``/``watch_topics``: another group whose lag is sampled about every
    ``lag_sample_every`` seconds while this one reads (``result["watched"]``).
    ``keep_records``: each partition's summary lists the window's ``[offset, event id]``
    pairs (a few thousand in an exercise: fine for XCom; off by default).
    """

    template_fields: Sequence[str] = (
        "group",
        "topic",
        "until",
        "window_start",
        "stop_at",
        "follow_seconds",
        "watch_group",
    )
    ui_color = "#e9f7ef"

    def __init__(
        self,
        *,
        group: str,
        topic: str,
        until: dict | None = None,
        window_start: dict | None = None,
        from_beginning: bool = True,
        stop_at: dict | None = None,
        follow_seconds: float | str = 0.0,
        watch_group: str | None = None,
        watch_topics: list[str] | None = None,
        lag_sample_every: float = 1.0,
        keep_records: bool = False,
        resume: bool = False,
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
        self.stop_at = stop_at
        self.follow_seconds = follow_seconds
        self.watch_group = watch_group
        self.watch_topics = watch_topics
        self.lag_sample_every = lag_sample_every
        self.keep_records = keep_records
        self.resume = resume
        self.timeout_seconds = timeout_seconds
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        watch = None
        if self.watch_group:
            watch = Watch(
                self.watch_group, list(self.watch_topics or [self.topic]), self.lag_sample_every
            )
        stop_at = offsets_for(self.topic, self.stop_at)
        if stop_at:
            self.log.warning("group %s stops early, at %s", self.group, stop_at)
        result = run_consumer_group(
            LabKafkaHook(self.kafka_config_id).client_config(),
            self.group,
            self.topic,
            until=offsets_for(self.topic, self.until),
            window_start=offsets_for(self.topic, self.window_start),
            from_beginning=self.from_beginning,
            stop_at=stop_at,
            follow_seconds=float(self.follow_seconds or 0),
            watch=watch,
            keep_records=self.keep_records,
            resume=self.resume,
            timeout=self.timeout_seconds,
            progress=self.log.info,
        )
        self.log.info(
            "group %s consumed %d records of %s in %.1fs (then %d live); reached %s",
            self.group,
            result["consumed"],
            self.topic,
            result["seconds"],
            result["followed"],
            {p: s["reached"] for p, s in result["partitions"].items()},
        )
        if watch is not None:
            self.log.info(
                "lag of %s while reading: %s",
                watch.group,
                [lag for _, lag in result["watched"]["samples"]],
            )
        return result
