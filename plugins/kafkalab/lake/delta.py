"""Read Delta tables on the lab's object store with delta-rs (no Spark, no JVM)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kafkalab.lake.object_store import ObjectStore
from kafkalab.settings import LabSettings

if TYPE_CHECKING:
    import pyarrow as pa


class DeltaTableMissing(LookupError):
    pass


def to_delta_rs_uri(path: str) -> str:
    """Spark writes ``s3a://``; delta-rs speaks ``s3://`` for the same objects."""
    return "s3://" + path.split("://", 1)[1] if path.startswith("s3a://") else path


def _store(where: LabSettings | ObjectStore) -> ObjectStore:
    return where if isinstance(where, ObjectStore) else ObjectStore.from_settings(where)


def _open(where: LabSettings | ObjectStore, path: str):
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(
            to_delta_rs_uri(path), storage_options=_store(where).delta_storage_options()
        )
    except TableNotFoundError as exc:
        raise DeltaTableMissing(f"no Delta table at {path}") from exc


def read_delta(
    where: LabSettings | ObjectStore, path: str, columns: Sequence[str] | None = None
) -> pa.Table:
    table = _open(where, path)
    try:
        return table.to_pyarrow_table(columns=list(columns) if columns else None)
    finally:
        # delta-rs with pyarrow can abort at interpreter exit while table objects live.
        del table


def delta_row_count(where: LabSettings | ObjectStore, path: str) -> int:
    table = _open(where, path)
    try:
        return table.to_pyarrow_dataset().count_rows()
    finally:
        del table


def delta_version(where: LabSettings | ObjectStore, path: str) -> int | None:
    """The table's newest committed version; None when there is no table yet."""
    try:
        table = _open(where, path)
    except DeltaTableMissing:
        return None
    try:
        return table.version()
    finally:
        del table


def delta_column_names(where: LabSettings | ObjectStore, path: str) -> list[str]:
    table = _open(where, path)
    try:
        return [f.name for f in table.schema().fields]
    finally:
        del table
