"""Kafka for Airflow tasks: the provider's admin hook plus what the lab needs of it."""

from __future__ import annotations

from typing import Any

from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

from kafkalab.kafka.admin import KafkaAdmin


class LabKafkaHook(KafkaAdminClientHook):
    """The `kafka_default` connection (extras are confluent-kafka settings) as a KafkaAdmin.

    The provider's hook creates and deletes topics; offsets, lag, partition and config
    changes live in ``kafkalab.kafka.admin`` so that `./lab lag` shares them.
    """

    def client_config(self) -> dict[str, Any]:
        config = self._build_config()
        # A connection may carry consumer settings (group.id, ...): admin calls ignore them,
        # but librdkafka warns about each; keep only what every client accepts.
        return {k: v for k, v in config.items() if k not in ("group.id", "auto.offset.reset")}

    @property
    def bootstrap_servers(self) -> str:
        return self.client_config()["bootstrap.servers"]

    def lab_admin(self) -> KafkaAdmin:
        return KafkaAdmin(self.client_config())
