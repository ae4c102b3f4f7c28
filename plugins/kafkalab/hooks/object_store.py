"""The object store for Airflow tasks, from an `aws`-type connection with an endpoint."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from kafkalab.lake.object_store import ObjectStore


class ObjectStoreHook(BaseHook):
    """`lab_object_store`: login/password are the S3 keys, extras hold ``endpoint_url``."""

    conn_name_attr = "object_store_conn_id"
    default_conn_name = "lab_object_store"
    conn_type = "aws"
    hook_name = "kafkalab object store"

    def __init__(self, object_store_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.object_store_conn_id = object_store_conn_id

    def get_conn(self) -> ObjectStore:
        connection = self.get_connection(self.object_store_conn_id)
        extra: dict[str, Any] = connection.extra_dejson
        endpoint = extra.get("endpoint_url")
        if not endpoint:
            raise ValueError(
                f"connection {self.object_store_conn_id!r} has no extra 'endpoint_url' "
                "(the S3 server's address, e.g. http://127.0.0.1:9000)"
            )
        return ObjectStore(
            endpoint=endpoint,
            access_key=connection.login or "",
            secret_key=connection.password or "",
            region=extra.get("region_name", "us-east-1"),
        )
