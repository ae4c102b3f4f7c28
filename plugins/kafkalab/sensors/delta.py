"""Wait for a Delta table on the object store to exist and hold at least N rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafkalab.sensors.base import DeferrableSensor
from kafkalab.triggers.delta import DeltaRowsTrigger


class DeltaTableSensor(DeferrableSensor):
    template_fields: Sequence[str] = ("path", "min_rows", "timeout_seconds")
    ui_color = "#eaf5e9"

    def __init__(
        self,
        *,
        path: str,
        min_rows: int | str = 1,
        object_store_conn_id: str = "lab_object_store",
        poll_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poll_interval=poll_interval, **kwargs)
        self.path = path
        self.min_rows = min_rows
        self.object_store_conn_id = object_store_conn_id

    def trigger(self) -> DeltaRowsTrigger:
        return DeltaRowsTrigger(
            path=self.path,
            min_rows=int(self.min_rows),
            object_store_conn_id=self.object_store_conn_id,
            poll_interval=self.poll_interval,
            timeout=float(self.timeout_seconds),
        )

    def failure_message(self, event: dict[str, Any]) -> str:
        seen = (
            f"it holds {event['rows']} rows"
            if event["table_exists"]
            else "there is no Delta table there"
        )
        return (
            f"expected a Delta table with at least {self.min_rows} rows at {self.path} "
            f"within {event['waited_seconds']:.0f}s, but {seen}. Is the Spark job running "
            f"(./lab logs) and writing to this path?"
        )
