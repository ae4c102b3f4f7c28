"""Read Delta tables on the lab's object store with delta-rs (no Spark, no JVM)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from kafkalab.settings import LabSettings


class DeltaTableMissing(LookupError):
    pass


def storage_options(settings: LabSettings) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": settings.s3_endpoint,
        "AWS_ACCESS_KEY_ID": settings.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key,
        "AWS_REGION": settings.s3_region,
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_ADDRESSING_STYLE": "path",
    }


def to_delta_rs_uri(path: str) -> str:
    """Spark writes ``s3a://``; delta-rs speaks ``s3://`` for the same objects."""
    return "s3://" + path.split("://", 1)[1] if path.startswith("s3a://") else path


def _open(settings: LabSettings, path: str):
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(to_delta_rs_uri(path), storage_options=storage_options(settings))
    except TableNotFoundError as exc:
        raise DeltaTableMissing(f"no Delta table at {path}") from exc


def read_delta(
    settings: LabSettings, path: str, columns: Sequence[str] | None = None
) -> pa.Table:
    table = _open(settings, path)
    try:
        return table.to_pyarrow_table(columns=list(columns) if columns else None)
    finally:
        # delta-rs with pyarrow can abort at interpreter exit while table objects live.
        del table


def delta_row_count(settings: LabSettings, path: str) -> int:
    table = _open(settings, path)
    try:
        return table.to_pyarrow_dataset().count_rows()
    finally:
        del table
