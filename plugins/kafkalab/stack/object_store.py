"""The S3 object store, through the MinIO client (any S3 server will do)."""

from __future__ import annotations

from urllib.parse import urlparse

from minio import Minio

from kafkalab.settings import LabSettings


def object_store_client(settings: LabSettings) -> Minio:
    endpoint = urlparse(settings.s3_endpoint)
    return Minio(
        endpoint.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=endpoint.scheme == "https",
        region=settings.s3_region,
    )


def ensure_buckets(settings: LabSettings) -> list[str]:
    """Create the lab's buckets if missing; returns the ones created."""
    client = object_store_client(settings)
    created = []
    for bucket in (settings.raw_bucket, settings.reports_bucket):
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
            created.append(bucket)
    return created
