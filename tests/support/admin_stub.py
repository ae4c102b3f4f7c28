"""A ``KafkaAdmin`` over a stand-in for confluent-kafka's ``AdminClient``.

For unit tests of the admin's own logic (what it retries, what it waits for); what
Kafka itself answers is tested against the real broker.
"""

from __future__ import annotations

from typing import Any

from kafkalab.kafka.admin import KafkaAdmin


def admin_over(client: Any, timeout: float = 5.0) -> KafkaAdmin:
    """The admin's methods with ``client`` in place of a connection to a broker."""
    admin = KafkaAdmin.__new__(KafkaAdmin)
    admin.timeout = timeout
    admin.admin = client
    return admin
