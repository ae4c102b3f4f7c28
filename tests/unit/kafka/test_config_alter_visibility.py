"""A config change is reported once the brokers show it, not as the describe before."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace

import pytest

from kafkalab.kafka.admin import ConfigNotApplied
from tests.support.admin_stub import admin_over


def _done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


class LaggingMetadata:
    """Accepts the alter, then shows it only from the ``stale_describes``-th describe on."""

    def __init__(self, stale_describes: int) -> None:
        self.stale_describes = stale_describes
        self.altered: dict[str, str] = {}
        self.describes = 0

    def list_topics(self, topic=None, timeout=None):
        partition = SimpleNamespace(replicas=[1])
        return SimpleNamespace(topics={"t": SimpleNamespace(error=None, partitions={0: partition})})

    def incremental_alter_configs(self, resources, request_timeout):
        for entry in resources[0].incremental_configs:
            self.altered[entry.name] = entry.value
        return {resources[0]: _done(None)}

    def describe_configs(self, resources, request_timeout):
        self.describes += 1
        shown = {"segment.bytes": "134217728"}
        if self.describes > self.stale_describes:
            shown |= self.altered
        entries = {
            name: SimpleNamespace(value=value, is_default=False) for name, value in shown.items()
        }
        return {resources[0]: _done(entries)}


def test_the_configs_returned_include_the_change_a_lagging_broker_shows_late() -> None:
    broker = LaggingMetadata(stale_describes=2)
    configs = admin_over(broker).alter_configs("t", {"retention.ms": "7200000"})
    assert configs["retention.ms"] == "7200000"
    assert broker.describes == 3


def test_a_change_the_brokers_never_show_is_named() -> None:
    broker = LaggingMetadata(stale_describes=10_000)
    with pytest.raises(ConfigNotApplied, match=r"accepted \{'retention.ms': '7200000'\}"):
        admin_over(broker, timeout=0.5).alter_configs("t", {"retention.ms": "7200000"})
