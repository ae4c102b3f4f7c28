"""The S3 object store: where it is, how to reach it (any S3 server will do)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from kafkalab.settings import LabSettings

if TYPE_CHECKING:
    from minio import Minio


@dataclass(frozen=True)
class ObjectStore:
    """Endpoint and credentials; from the lab's settings or an Airflow connection."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    @classmethod
    def from_settings(cls, settings: LabSettings) -> ObjectStore:
        return cls(
            settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_region
        )

    def client(self) -> Minio:
        from minio import Minio

        endpoint = urlparse(self.endpoint)
        return Minio(
            endpoint.netloc,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=endpoint.scheme == "https",
            region=self.region,
        )

    def delta_storage_options(self) -> dict[str, str]:
        """What delta-rs needs to read Delta tables here."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_ALLOW_HTTP": "true" if self.endpoint.startswith("http://") else "false",
            "AWS_S3_ADDRESSING_STYLE": "path",
        }


def object_store_client(settings: LabSettings) -> Minio:
    return ObjectStore.from_settings(settings).client()


def ensure_buckets(settings: LabSettings) -> list[str]:
    """Create the lab's buckets if missing; returns the ones created."""
    client = object_store_client(settings)
    created = []
    for bucket in (settings.raw_bucket, settings.reports_bucket):
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
            created.append(bucket)
    return created
