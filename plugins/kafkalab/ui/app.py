"""The plugin's FastAPI app: the Kafka page and the Lab report view, rendered on the server.

Every route requires an authenticated Airflow user, through the API server's own
``get_user`` dependency (the ``_token`` cookie the UI holds, or a bearer token): plugin
apps are mounted beside Airflow's API, not behind its security. The report routes also
ask the auth manager whether the user may read the DAG's runs.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kafkalab.settings import LabSettings, get_settings
from kafkalab.ui.model import LagHistory, NotALabReport, report_key, report_page

TEMPLATES = Path(__file__).parent / "templates"
# Files of a run's report the plugin serves, with their content types.
REPORT_FILES = {
    "report.json": "application/json",
    "report.md": "text/markdown; charset=utf-8",
    "lag.svg": "image/svg+xml",
}
REFRESH_SECONDS = 5


def _auth_dependencies() -> tuple[Any, Any]:
    """(an authenticated user, who may read the DAG's runs): the API server's own checks."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag

    return get_user, requires_access_dag("GET", DagAccessEntity.RUN)


class KafkaSampler:
    """The cluster's state, fetched at most every ``min_interval`` seconds whoever asks,
    and each fetch's lag recorded in the history the charts draw."""

    def __init__(self, settings: LabSettings, min_interval: float = 2.0) -> None:
        self.settings = settings
        self.min_interval = min_interval
        self.history = LagHistory()
        self._lock = threading.Lock()
        self._state: Any = None
        self._taken = 0.0

    def state(self) -> Any:
        from kafkalab.ui.kafka_state import cluster_state

        with self._lock:
            if self._state is None or time.monotonic() - self._taken >= self.min_interval:
                self._state = cluster_state(self.settings)
                self._taken = time.monotonic()
                self.history.record(self._state.snapshots)
            return self._state


def create_app(settings: LabSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    user, run_access = _auth_dependencies()
    authenticated, may_read_runs = Depends(user), Depends(run_access)
    app = FastAPI(
        title="kafkalab UI",
        description="The Kafka page and the Lab report view of the kafkalab Airflow plugin",
        dependencies=[authenticated],
    )
    templates = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
    )
    templates.filters["q"] = lambda value: quote(str(value), safe="")
    sampler = KafkaSampler(settings)
    # For tests that stand in for the API server's auth (app.dependency_overrides).
    app.state.auth_dependencies = (user, run_access)

    def render(request: Request, template: str, status_code: int = 200, **values: Any):
        base = request.scope.get("root_path", "")
        html = templates.get_template(template).render(base=base, refresh=REFRESH_SECONDS, **values)
        return HTMLResponse(html, status_code=status_code)

    def object_store():
        from kafkalab.lake.object_store import object_store_client

        return object_store_client(settings)

    def read_report_file(dag_id: str, run_id: str, name: str) -> bytes | None:
        from minio.error import S3Error

        try:
            response = object_store().get_object(
                settings.reports_bucket, report_key(dag_id, run_id, name)
            )
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket"):
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    # --- Kafka ------------------------------------------------------------------------

    @app.get("/kafka", response_class=HTMLResponse)
    def kafka_page(request: Request) -> HTMLResponse:
        return render(request, "kafka.html", state=sampler.state())

    @app.get("/kafka/fragment", response_class=HTMLResponse)
    def kafka_fragment(request: Request) -> HTMLResponse:
        return render(request, "kafka_fragment.html", state=sampler.state())

    @app.get("/kafka/state.json")
    def kafka_json() -> JSONResponse:
        state = sampler.state()
        return JSONResponse(
            {
                "bootstrap": state.bootstrap,
                "brokers": [vars(b) for b in state.brokers],
                "topics": [
                    {
                        "name": t.name,
                        "partitions": [
                            {
                                "partition": p.partition,
                                "leader": p.leader,
                                "replicas": p.replicas,
                                "isr": p.isr,
                                "end_offset": p.end_offset,
                            }
                            for p in t.partitions
                        ],
                    }
                    for t in state.topics
                ],
                "groups": [
                    {
                        "group": g.group,
                        "state": g.state,
                        "members": len(g.members),
                        "total_lag": g.total_lag,
                    }
                    for g in state.groups
                ],
                "lag": [s.to_dict() for s in state.snapshots],
            }
        )

    @app.get("/kafka/lag/{group}.png")
    def kafka_lag_png(group: str) -> Response:
        from kafkalab.ui.charts import lag_chart_png

        sampler.state()
        samples = sampler.history.series(group)
        png = lag_chart_png({group: samples}, title=f"{group}: total lag, last 10 minutes")
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    # --- Lab report -------------------------------------------------------------------

    def load_report(dag_id: str, run_id: str) -> dict[str, Any] | None:
        data = read_report_file(dag_id, run_id, "report.json")
        return None if data is None else json.loads(data)

    @app.get(
        "/report/{dag_id}/{run_id}",
        response_class=HTMLResponse,
        dependencies=[may_read_runs],
    )
    def report_view(request: Request, dag_id: str, run_id: str) -> HTMLResponse:
        report = load_report(dag_id, run_id)
        where = f"s3://{settings.reports_bucket}/{report_key(dag_id, run_id, '')}"
        if report is None:
            return render(request, "report_missing.html", dag_id=dag_id, run_id=run_id, where=where)
        try:
            page = report_page(report)
        except NotALabReport as exc:
            return render(
                request,
                "report_missing.html",
                dag_id=dag_id,
                run_id=run_id,
                where=where,
                problem=str(exc),
            )
        return render(request, "report.html", page=page, where=where)

    @app.get("/report/{dag_id}/{run_id}/lag.png", dependencies=[may_read_runs])
    def report_lag_png(dag_id: str, run_id: str) -> Response:
        from kafkalab.ui.charts import lag_chart_png

        report = load_report(dag_id, run_id)
        if report is None:
            raise HTTPException(404, f"no report for {dag_id} run {run_id}")
        page = report_page(report)
        if not page.lag_series:
            raise HTTPException(404, f"the report of {dag_id} run {run_id} has no lag series")
        return Response(
            lag_chart_png(page.lag_series, title="consumer lag"), media_type="image/png"
        )

    @app.get("/report/{dag_id}/{run_id}/files/{name}", dependencies=[may_read_runs])
    def report_file(dag_id: str, run_id: str, name: str) -> Response:
        if name not in REPORT_FILES:
            raise HTTPException(404, f"a report has only {', '.join(REPORT_FILES)}")
        data = read_report_file(dag_id, run_id, name)
        if data is None:
            raise HTTPException(404, f"no {name} for {dag_id} run {run_id}")
        return Response(data, media_type=REPORT_FILES[name])

    return app
