"""Kafka for Airflow tasks: the provider's admin hook plus what the lab needs of it."""

from __future__ import annotations

from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.kafka.client import ClientConfig, connection_config


class LabKafkaHook(KafkaAdminClientHook):
    """The `kafka_default` connection (extras are confluent-kafka settings) as a KafkaAdmin.

    The provider's hook creates and deletes topics; offsets, lag, partition and config
    changes live in ``kafkalab.kafka.admin`` so that `./lab lag` shares them.
    """

    def client_config(self) -> ClientConfig:
        """The connection's config, for ``kafkalab.kafka.client`` to build any client from.

        TLS and SASL extras stay in it; consumer settings the connection may carry
        (``group.id``, ...) do not: each consumer the lab runs sets its own.
        """
        return connection_config(self._build_config())

    @property
    def bootstrap_servers(self) -> str:
        return self.client_config()["bootstrap.servers"]

    def lab_admin(self, timeout: float = 30.0) -> KafkaAdmin:
        return KafkaAdmin(self.client_config(), timeout=timeout)
