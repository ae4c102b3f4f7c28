"""Reconcile a Delta table written by the streaming consumer against Kafka offsets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.delta_tables import DeltaTableMissing, read_delta
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.hooks.object_store import ObjectStoreHook
from kafkalab.offsets import offsets_for
from kafkalab.reconcile import reconcile_offsets, sequence_digest


class DeltaReconcileOperator(BaseOperator):
    """Every offset of ``topic`` in ``[from_offsets, to_offsets)`` must be in the table once.

    ``from_offsets`` defaults to the earliest offsets Kafka retains. Rows of the
    quarantine table (``quarantine_path``) count too: a quarantined record was consumed.
    With ``id_column``, returns per-partition digests of the (offset, id) sequence, to
    compare with what consumer groups saw.
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
        object_store_conn_id: str = "lab_object_store",
        kafka_config_id: str = "kafka_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.topic = topic
        self.to_offsets = to_offsets
        self.from_offsets = from_offsets
        self.quarantine_path = quarantine_path
        self.id_column = id_column
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

    def execute(self, context: Context) -> dict[str, Any]:
        to_offsets = offsets_for(self.topic, self.to_offsets) or {}
        from_offsets = offsets_for(self.topic, self.from_offsets)
        if from_offsets is None:
            from_offsets = (
                LabKafkaHook(self.kafka_config_id).lab_admin().earliest_offsets(self.topic)
            )
        expected = {p: (from_offsets.get(p, 0), end) for p, end in to_offsets.items()}

        store = ObjectStoreHook(self.object_store_conn_id).get_conn()
        columns = ["kafka_topic", "kafka_partition", "kafka_offset"]
        rows = self._rows(
            store, self.path, columns + ([self.id_column] if self.id_column else []), required=True
        )
        if self.quarantine_path:
            rows += self._rows(store, self.quarantine_path, columns, required=False)
        result = reconcile_offsets(
            self.topic, ((r["kafka_partition"], r["kafka_offset"]) for r in rows), expected
        )
        summary = result.summary()
        if self.id_column:
            summary["digests"] = {
                str(p): sequence_digest(
                    (r["kafka_offset"], r[self.id_column])
                    for r in rows
                    if r["kafka_partition"] == p
                    and low <= r["kafka_offset"] < high
                    and r.get(self.id_column) is not None
                )
                for p, (low, high) in expected.items()
            }
        if not result.ok:
            raise AirflowFailException(result.message(f"Delta table {self.path}"))
        self.log.info(result.message(f"Delta table {self.path}"))
        return summary
