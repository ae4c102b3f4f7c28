from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def default_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    # `./lab test` exports the running stack's broker count: pure logic is tested
    # against the defaults, whichever stack runs beside it.
    monkeypatch.delenv("KAFKALAB_BROKERS", raising=False)
