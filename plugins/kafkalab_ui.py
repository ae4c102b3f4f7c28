"""The kafkalab Airflow plugin: a Kafka page in the navigation and a Lab report view
on every DAG run, served by the FastAPI app in ``kafkalab.ui`` (Airflow 3.1+ plugin
interface: ``fastapi_apps`` + ``external_views``).

Pages: ``/kafkalab/kafka`` (the "Kafka" entry of the navigation) and
``/kafkalab/report/<dag_id>/<run_id>`` (the "Lab report" tab of a DAG run).

The API server loads plugins once, at start: after changing ``kafkalab.ui``, restart it
(stop the ``airflow-api-server`` process, then ``./lab up``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/kafkalab"


class _BuiltOnFirstRequest:
    """An ASGI app that builds the real one when the API server first calls it.

    Every Airflow component imports the plugins folder; only the API server serves this
    app, and building it imports FastAPI and the API server's security code, seconds of
    work the scheduler, dag-processor and triggerer should not pay.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from kafkalab.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return "kafkalab.ui.app:create_app()"


class KafkalabUiPlugin(AirflowPlugin):
    name = "kafkalab_ui"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": _BuiltOnFirstRequest(), "url_prefix": URL_PREFIX, "name": "kafkalab"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Kafka",
            "href": f"{URL_PREFIX}/kafka",
            "destination": "nav",
            "url_route": "kafka",
        },
        {
            "name": "Lab report",
            "href": f"{URL_PREFIX}/report/{{DAG_ID}}/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "lab_report",
        },
    ]
