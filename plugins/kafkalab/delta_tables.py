"""Read Delta tables on the lab's object store with delta-rs (no Spark, no JVM)."""

from __future__ import annotations

from kafkalab.settings import LabSettings


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


def delta_row_count(settings: LabSettings, path: str) -> int:
    from deltalake import DeltaTable

    table = DeltaTable(to_delta_rs_uri(path), storage_options=storage_options(settings))
    try:
        return table.to_pyarrow_dataset().count_rows()
    finally:
        # delta-rs with pyarrow can abort at interpreter exit while table objects live.
        del table
