"""The data generator from Airflow: a bounded run, or a background run across tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from airflow.sdk import BaseHook, BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.generator.background import (
    background_status,
    start_background_run,
    stop_background_run,
)
from kafkalab.generator.config import GeneratorConfig
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.settings import get_settings

GENERATOR_TEMPLATE_FIELDS = (
    "run_id",
    "count",
    "duration",
    "rate",
    "batch_size",
    "seed",
    "financial_share",
    "topics",
)


def ingestor_url(conn_id: str) -> str:
    connection = BaseHook.get_connection(conn_id)
    host = connection.host or ""
    if "://" not in host:
        host = f"{connection.schema or 'http'}://{host}"
    if connection.port:
        host = f"{host}:{connection.port}"
    return host.rstrip("/")


class _GeneratorOperator(BaseOperator):
    template_fields: Sequence[str] = GENERATOR_TEMPLATE_FIELDS
    ui_color = "#ebf5fb"

    def __init__(
        self,
        *,
        run_id: str,
        count: int | str | None = None,
        duration: float | str | None = None,
        rate: float | str | None = None,
        batch_size: int | str = 1,
        seed: int | str = 42,
        financial_share: float | str = 0.5,
        ingestor_conn_id: str = "lab_ingestor",
        target: str = "http",
        topics: dict[str, str] | None = None,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.count = count
        self.duration = duration
        self.rate = rate
        self.batch_size = batch_size
        self.seed = seed
        self.financial_share = financial_share
        self.ingestor_conn_id = ingestor_conn_id
        # "kafka": straight to the broker (a load test, as the lab guide's high rate),
        # optionally to other topics than the exercise ones.
        self.target = target
        self.topics = topics or {}
        self.kafka_config_id = kafka_config_id

    @staticmethod
    def _number(value: Any, kind: type) -> Any:
        return None if value in (None, "", "None") else kind(value)

    def generator_config(self, **overrides: Any) -> GeneratorConfig:
        """The run these (rendered) fields describe; hooks are read here, in ``execute``."""
        if self.target == "kafka":
            endpoint: dict[str, Any] = {
                "target": "kafka",
                "bootstrap": LabKafkaHook(self.kafka_config_id).bootstrap_servers,
                "topics": dict(self.topics),
            }
        else:
            endpoint = {"target": "http", "ingestor_url": ingestor_url(self.ingestor_conn_id)}
        return GeneratorConfig(
            run_id=str(self.run_id),
            seed=int(self.seed),
            batch_size=int(self.batch_size),
            financial_share=float(self.financial_share),
            count=self._number(self.count, int),
            duration=self._number(self.duration, float),
            rate=self._number(self.rate, float),
            **endpoint,
            **overrides,
        )


class GeneratorRunOperator(_GeneratorOperator):
    """A bounded run (``count`` or ``duration``); returns acknowledged counts and id ranges.

    Fails when an event was rejected or never acknowledged: the exercise's figures would
    not be what the generator claims.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        config = self.generator_config(concurrency=8)
        if config.count is None and config.duration is None:
            raise AirflowFailException("a bounded generator run needs count or duration")
        # The runner brings aiohttp and the event factory: not for every DAG parse.
        from kafkalab.generator.runner import run_generator

        summary = run_generator(config, progress=self.log.info)
        if summary.rejected or summary.unacknowledged:
            raise AirflowFailException(
                f"generator run {summary.run_id}: {summary.rejected} events rejected and "
                f"{summary.unacknowledged} never acknowledged by the ingestor; errors: "
                f"{summary.errors[:3]}"
            )
        return asdict(summary)


class StartGeneratorOperator(_GeneratorOperator):
    """Start a background run (unbounded unless ``count``/``duration``); returns its run id."""

    def execute(self, context: Context) -> dict[str, Any]:
        config = self.generator_config()
        status = start_background_run(get_settings(), config.run_id, config)
        self.log.info("generator run %s started", status.run_id)
        return status.to_dict()


class _BackgroundRunOperator(BaseOperator):
    """An operator on a background run started earlier, found by its ``run_id``."""

    template_fields: Sequence[str] = ("run_id",)
    ui_color = "#ebf5fb"

    def __init__(self, *, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id


class StopGeneratorOperator(_BackgroundRunOperator):
    """Stop a background run (in-flight requests finish) and return its final counts."""

    def execute(self, context: Context) -> dict[str, Any]:
        status = stop_background_run(get_settings(), str(self.run_id))
        if status.summary is None:
            raise AirflowFailException(f"generator run {self.run_id} left no counts")
        self.log.info("generator run %s: %s", self.run_id, status.summary)
        return status.summary


class GeneratorStatusOperator(_BackgroundRunOperator):
    """Whether a background run is still going, and its counts so far."""

    def execute(self, context: Context) -> dict[str, Any]:
        return background_status(get_settings(), str(self.run_id)).to_dict()
