"""Poll a Delta table on the object store (delta-rs) until it holds enough rows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class DeltaRowsTrigger(BaseTrigger):
    def __init__(
        self,
        path: str,
        min_rows: int,
        object_store_conn_id: str = "lab_object_store",
        poll_interval: float = 5.0,
        timeout: float = 300.0,
    ) -> None:
        super().__init__()
        self.path = path
        self.min_rows = min_rows
        self.object_store_conn_id = object_store_conn_id
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "kafkalab.triggers.delta.DeltaRowsTrigger",
            {
                "path": self.path,
                "min_rows": self.min_rows,
                "object_store_conn_id": self.object_store_conn_id,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from kafkalab.hooks.object_store import ObjectStoreHook
        from kafkalab.lake.delta import DeltaTableMissing, delta_row_count

        store = await asyncio.to_thread(
            lambda: ObjectStoreHook(self.object_store_conn_id).get_conn()
        )
        started = time.monotonic()
        samples: list[tuple[float, int]] = []
        while True:
            try:
                rows: int | None = await asyncio.to_thread(delta_row_count, store, self.path)
            except DeltaTableMissing:
                rows = None
            samples.append((round(time.time(), 3), rows or 0))
            waited = time.monotonic() - started
            met = rows is not None and rows >= self.min_rows
            if met or waited >= self.timeout:
                yield TriggerEvent(
                    {
                        "status": "met" if met else "timeout",
                        "path": self.path,
                        "rows": rows,
                        "table_exists": rows is not None,
                        "waited_seconds": round(waited, 3),
                        "samples": samples,
                    }
                )
                return
            await asyncio.sleep(self.poll_interval)
