"""Wait for a Delta table on the object store to exist and hold at least N rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.triggers.delta import DeltaRowsTrigger
from kafkalab.triggers.inline import run_trigger_inline


class DeltaTableSensor(BaseOperator):
    template_fields: Sequence[str] = ("path", "min_rows", "timeout_seconds")
    ui_color = "#eaf5e9"

    def __init__(
        self,
        *,
        path: str,
        min_rows: int | str = 1,
        object_store_conn_id: str = "lab_object_store",
        poll_interval: float = 5.0,
        timeout_seconds: float | str = 300.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.min_rows = min_rows
        self.object_store_conn_id = object_store_conn_id
        self.poll_interval = poll_interval
        self.timeout_seconds = timeout_seconds
        self.deferrable = deferrable

    def execute(self, context: Context) -> dict[str, Any]:
        trigger = DeltaRowsTrigger(
            path=self.path,
            min_rows=int(self.min_rows),
            object_store_conn_id=self.object_store_conn_id,
            poll_interval=self.poll_interval,
            timeout=float(self.timeout_seconds),
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
            seen = (
                f"it holds {event['rows']} rows"
                if event["table_exists"]
                else "there is no Delta table there"
            )
            raise AirflowFailException(
                f"expected a Delta table with at least {self.min_rows} rows at {self.path} "
                f"within {event['waited_seconds']:.0f}s, but {seen}. Is the Spark job running "
                f"(./lab logs) and writing to this path?"
            )
        return event
