"""`./lab up` starts what needs nothing at once and waits only where a service needs it.

Services are stand-ins (`sleep`) with health checks that turn healthy a while after
their start, as the broker's JVM does.
"""

from __future__ import annotations

import time

import pytest

from kafkalab.lab.stack.lifecycle import Stack
from kafkalab.lab.stack.services import Health, Service
from kafkalab.settings import LabSettings

WARM_UP_SECONDS = {"kafka": 1.5, "s3": 0.5, "ingestor": 1.0, "airflow-api-server": 1.0}


@pytest.fixture
def stack(tmp_path, monkeypatch):
    events: list[str] = []
    started_at: dict[str, float] = {}

    def fake(name: str, depends_on: list[str]) -> Service:
        def prepare(settings: LabSettings) -> None:
            events.append(f"start {name}")
            started_at[name] = time.monotonic()

        def health(settings: LabSettings) -> Health:
            warm = time.monotonic() - started_at[name] >= WARM_UP_SECONDS.get(name, 0.0)
            if warm and f"healthy {name}" not in events:
                events.append(f"healthy {name}")
            return Health(warm, "warm" if warm else "warming up")

        return Service(
            name=name,
            description=name,
            ports={},
            command=lambda settings: ["sleep", "30"],
            health=health,
            prepare=prepare,
            depends_on=depends_on,
        )

    stack = Stack(LabSettings(home=tmp_path))
    stack.services = [
        fake("kafka", []),
        fake("s3", []),
        fake("ingestor", []),
        fake("airflow-api-server", []),
        fake("airflow-scheduler", ["airflow-api-server"]),
        fake("airflow-triggerer", ["airflow-api-server"]),
    ]
    monkeypatch.setattr(stack, "install", lambda: None)
    monkeypatch.setattr(stack, "bootstrap", lambda: None)
    yield stack, events
    stack.down()


def test_independent_services_start_together_and_airflow_waits_for_what_it_needs(
    stack,
) -> None:
    stack, events = stack
    stack.up()
    first_healthy = min(i for i, event in enumerate(events) if event.startswith("healthy"))
    independent = ["kafka", "s3", "ingestor", "airflow-api-server"]
    # None of these waited for another to be healthy before it started.
    assert all(events.index(f"start {name}") < first_healthy for name in independent), events
    for component in ("airflow-scheduler", "airflow-triggerer"):
        for needed in ("kafka", "s3", "airflow-api-server"):
            assert events.index(f"healthy {needed}") < events.index(f"start {component}"), (
                f"{component} started before {needed} was healthy: {events}"
            )
    assert all(f"healthy {service.name}" in events for service in stack.services)
