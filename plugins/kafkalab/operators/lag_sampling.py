"""Record a consumer group's lag over a fixed window: a measurement, not a condition."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from kafkalab.hooks.kafka import LabKafkaHook


class ConsumerLagSamplingOperator(BaseOperator):
    """Sample ``group``'s total lag on ``topics`` every ``poll_interval`` s for ``duration``.

    Nothing is asserted: the samples are what a report plots and a comparison reads
    (``{"samples": [[taken_at, total lag], ...], "snapshot": last snapshot,
    "waited_seconds": ...}``, the keys a lag sensor's result has). It runs in the
    worker, not the triggerer: the window is the load phase's own length, so the
    samples must start as soon as the load does.
    """

    template_fields: Sequence[str] = ("group", "topics", "duration")
    ui_color = "#e8f4f8"

    def __init__(
        self,
        *,
        group: str,
        topics: list[str] | str,
        duration: float | str,
        poll_interval: float = 2.0,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.topics = topics
        self.duration = duration
        self.poll_interval = poll_interval
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
            topics = [self.topics] if isinstance(self.topics, str) else list(self.topics)
            duration = float(self.duration)
            self.log.info(
                "sampling the lag of group %s on %s for %.0fs", self.group, topics, duration
            )
            samples: list[tuple[float, int]] = []
            started = time.monotonic()
            while True:
                snapshot = admin.lag(self.group, topics)
                samples.append((round(snapshot.taken_at, 3), snapshot.total))
                waited = time.monotonic() - started
                if waited >= duration:
                    break
                time.sleep(min(self.poll_interval, duration - waited))
            self.log.info("%d samples; last:\n%s", len(samples), snapshot.table())
            return {
                "waited_seconds": round(waited, 3),
                "samples": samples,
                "snapshot": snapshot.to_dict(),
            }
