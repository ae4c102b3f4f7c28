from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkalab.settings import LabSettings, get_settings
from tests.support.kafka import CreatedTopics

TIERS = ("unit", "integration", "dags", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The tier of a test is the folder it lives in: `pytest -m unit` needs no marker noise.
    for item in items:
        tier = Path(item.fspath).relative_to(Path(__file__).parent).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def settings() -> LabSettings:
    return get_settings()


@pytest.fixture(scope="session")
def kafka_topics(settings: LabSettings) -> Iterator[CreatedTopics]:
    """Creates test topics; deletes every one of them when the session ends."""
    topics = CreatedTopics(settings)
    yield topics
    topics.delete_all()


@pytest.fixture
def unique_name() -> str:
    """A topic / group / path name no other test (or earlier run) uses."""
    return f"it_{uuid.uuid4().hex[:10]}"
