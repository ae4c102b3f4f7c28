"""Poll a Delta table on the object store (delta-rs) until it holds enough rows."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kafkalab.triggers.base import PollingTrigger


class DeltaRowsTrigger(PollingTrigger):
    def __init__(
        self,
        path: str,
        min_rows: int,
        object_store_conn_id: str = "lab_object_store",
        poll_interval: float = 5.0,
        timeout: float = 300.0,
    ) -> None:
        super().__init__(poll_interval=poll_interval, timeout=timeout)
        self.path = path
        self.min_rows = min_rows
        self.object_store_conn_id = object_store_conn_id

    async def connect(self) -> None:
        from kafkalab.hooks.object_store import ObjectStoreHook

        self.store = await self.hold(lambda: ObjectStoreHook(self.object_store_conn_id).get_conn())
        self.rows: int | None = None
        self.samples: list[tuple[float, int]] = []

    async def poll(self) -> bool:
        from kafkalab.lake.delta import DeltaTableMissing, delta_row_count

        try:
            self.rows = await asyncio.to_thread(delta_row_count, self.store, self.path)
        except DeltaTableMissing:
            self.rows = None
        self.samples.append((round(time.time(), 3), self.rows or 0))
        return self.rows is not None and self.rows >= self.min_rows

    def figures(self, met: bool, waited: float) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows": self.rows,
            "table_exists": self.rows is not None,
            "samples": self.samples,
        }
