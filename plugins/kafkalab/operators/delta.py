"""Reconcile a Delta table written by the streaming consumer against Kafka offsets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.domain.offsets import offsets_for
from kafkalab.domain.reconcile import reconcile_records, sequence_digest
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.hooks.object_store import ObjectStoreHook
from kafkalab.kafka.ranges import read_between
from kafkalab.lake.delta import DeltaTableMissing, read_delta


def event_id_of(value: bytes | None, id_column: str) -> str | None:
    """The ``id_column`` field of a Kafka record's value; None if the value is not a JSON
    event (the Spark job quarantines those)."""
    try:
        event = json.loads(value) if value is not None else None
    except ValueError:
        event = None
    return event.get(id_column) if isinstance(event, dict) else None


def partition_digests(
    rows: list[dict[str, Any]], expected: dict[int, tuple[int, int]], id_column: str
) -> dict[str, str]:
    """Per partition, the digest of the (offset, id) sequence of the table's rows in the
    expected range: what a consumer group that read the same range reports."""
    return {
        str(p): sequence_digest(
            (r["kafka_offset"], r[id_column])
            for r in rows
            if r["kafka_partition"] == p
            and low <= r["kafka_offset"] < high
            and r.get(id_column) is not None
        )
        for p, (low, high) in expected.items()
    }


class DeltaReconcileOperator(BaseOperator):
    """Every offset of ``topic`` in ``[from_offsets, to_offsets)`` must be in the table once.

    ``from_offsets`` defaults to the earliest offsets Kafka retains. Rows of the
    quarantine table (``quarantine_path``) count too: a quarantined record was consumed.
    A row outside the ranges fails the check (before or after a range, or on a partition
    the ranges do not name), except after the range with ``later_records_allowed`` (the
    job was still consuming when ``to_offsets`` was taken) and before it when the range
    starts at Kafka's earliest offsets (rows of records retention has since deleted).

    With ``id_column``, ids are checked as well as offsets: the records of the ranges
    are read back from Kafka, and each row must carry the event id of Kafka's record at
    its offset, with no id at two offsets. Then returns per-partition digests of the
    (offset, id) sequence too, to compare with what consumer groups saw.
    """

    template_fields: Sequence[str] = (
        "path",
        "topic",
        "from_offsets",
        "to_offsets",
        "quarantine_path",
    )
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        path: str,
        topic: str,
        to_offsets: dict,
        from_offsets: dict | None = None,
        quarantine_path: str | None = None,
        id_column: str | None = None,
        later_records_allowed: bool = False,
        object_store_conn_id: str = "lab_object_store",
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.topic = topic
        self.to_offsets = to_offsets
        self.from_offsets = from_offsets
        self.quarantine_path = quarantine_path
        self.id_column = id_column
        self.later_records_allowed = later_records_allowed
        self.object_store_conn_id = object_store_conn_id
        self.kafka_config_id = kafka_config_id

    def _rows(self, store, path: str, columns: list[str], required: bool) -> list[dict]:
        try:
            table = read_delta(store, path, columns)
        except DeltaTableMissing as exc:
            if required:
                raise AirflowFailException(
                    f"{exc}: the streaming consumer wrote nothing there. Was it started, "
                    "and with this output path?"
                ) from exc
            return []
        except Exception as exc:  # a damaged table is a failed outcome, named as such
            raise AirflowFailException(f"the Delta table at {path} cannot be read: {exc}") from exc
        import pyarrow.compute as pc

        table = table.filter(pc.equal(table["kafka_topic"], self.topic))
        return table.to_pylist()

    def _kafka_ids(
        self, id_column: str, from_offsets: dict[int, int], to_offsets: dict[int, int]
    ) -> dict[tuple[int, int], str | None]:
        """(partition, offset) -> the ``id_column`` field of Kafka's record there."""
        connection = LabKafkaHook(self.kafka_config_id).client_config()
        try:
            return {
                (record.partition, record.offset): event_id_of(record.value, id_column)
                for record in read_between(connection, self.topic, from_offsets, to_offsets)
            }
        except TimeoutError as exc:
            raise AirflowFailException(
                f"cannot read the expected ranges of {self.topic} back from Kafka to check "
                f"the event ids ({exc}). Are `to_offsets` beyond the end of the log?"
            ) from exc

    def execute(self, context: Context) -> dict[str, Any]:
        to_offsets = offsets_for(self.topic, self.to_offsets) or {}
        from_offsets = offsets_for(self.topic, self.from_offsets)
        from_earliest = from_offsets is None
        if from_offsets is None:
            with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
                from_offsets = admin.earliest_offsets(self.topic)
        expected = {p: (from_offsets.get(p, 0), end) for p, end in to_offsets.items()}

        store = ObjectStoreHook(self.object_store_conn_id).get_conn()
        columns = ["kafka_topic", "kafka_partition", "kafka_offset"]
        rows = self._rows(
            store, self.path, columns + ([self.id_column] if self.id_column else []), required=True
        )
        if self.quarantine_path:
            rows += self._rows(store, self.quarantine_path, columns, required=False)
        kafka_ids = None
        if self.id_column:
            kafka_ids = self._kafka_ids(
                self.id_column,
                {p: low for p, (low, _) in expected.items()},
                {p: high for p, (_, high) in expected.items()},
            )
        result = reconcile_records(
            self.topic,
            (
                (
                    r["kafka_partition"],
                    r["kafka_offset"],
                    r.get(self.id_column) if self.id_column else None,
                )
                for r in rows
            ),
            expected,
            kafka_ids=kafka_ids,
            earlier_allowed=from_earliest,
            later_allowed=self.later_records_allowed,
        )
        summary = result.summary()
        if self.id_column:
            summary["digests"] = partition_digests(rows, expected, self.id_column)
        if not result.ok:
            raise AirflowFailException(result.message(f"Delta table {self.path}"))
        self.log.info(result.message(f"Delta table {self.path}"))
        return summary
