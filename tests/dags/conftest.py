from __future__ import annotations

import pytest
from airflow.models import DagBag

from tests.support.lab import REPO_ROOT


@pytest.fixture(scope="session")
def dagbag() -> DagBag:
    """Every DAG file, parsed once, as the dag-processor would."""
    return DagBag(dag_folder=str(REPO_ROOT / "dags"))
