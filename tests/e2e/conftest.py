from __future__ import annotations

import pytest
from airflow.models import DagBag

from kafkalab.lab.airflow_api import AirflowApi
from tests.support.lab import REPO_ROOT


@pytest.fixture(scope="module")
def api(settings) -> AirflowApi:
    return AirflowApi(settings)


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(REPO_ROOT / "dags"))
