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

    def _endpoint_args(self) -> list[str]:
        if self.target == "kafka":
            args = [
                "--target",
                "kafka",
                "--bootstrap",
                LabKafkaHook(self.kafka_config_id).bootstrap_servers,
            ]
            for stream, topic in self.topics.items():
                args += [f"--{stream}-topic", topic]
            return args
        return ["--url", ingestor_url(self.ingestor_conn_id)]

    def generator_args(self) -> list[str]:
        args = [
            *self._endpoint_args(),
            "--seed",
            str(self.seed),
            "--batch-size",
            str(self.batch_size),
            "--financial-share",
            str(self.financial_share),
        ]
        for flag, value, kind in (
            ("--count", self.count, int),
            ("--duration", self.duration, float),
            ("--rate", self.rate, float),
        ):
            if self._number(value, kind) is not None:
                args += [flag, str(self._number(value, kind))]
        return args


class GeneratorRunOperator(_GeneratorOperator):
    """A bounded run (``count`` or ``duration``); returns acknowledged counts and id ranges.

    Fails when an event was rejected or never acknowledged: the exercise's figures would
    not be what the generator claims.
    """

    template_fields: Sequence[str] = GENERATOR_TEMPLATE_FIELDS

    def execute(self, context: Context) -> dict[str, Any]:
        count = self._number(self.count, int)
        duration = self._number(self.duration, float)
        if count is None and duration is None:
            raise AirflowFailException("a bounded generator run needs count or duration")
        # The command line of simulate_data.py is the one description of a run: the
        # background operator passes it to a process, this one parses it in place.
        from kafkalab.generator.cli import build_parser, config_from_args
        from kafkalab.generator.runner import run_generator

        config = config_from_args(
            build_parser().parse_args(
                [*self.generator_args(), "--run-id", str(self.run_id), "--concurrency", "8"]
            )
        )
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

    template_fields: Sequence[str] = GENERATOR_TEMPLATE_FIELDS

    def execute(self, context: Context) -> dict[str, Any]:
        status = start_background_run(get_settings(), str(self.run_id), self.generator_args())
        self.log.info("generator run %s started", status.run_id)
        return {"run_id": status.run_id, "running": status.running, "summary": status.summary}


class StopGeneratorOperator(BaseOperator):
    """Stop a background run (in-flight requests finish) and return its final counts."""

    template_fields: Sequence[str] = ("run_id",)
    ui_color = "#ebf5fb"

    def __init__(self, *, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id

    def execute(self, context: Context) -> dict[str, Any]:
        status = stop_background_run(get_settings(), str(self.run_id))
        if status.summary is None:
            raise AirflowFailException(f"generator run {self.run_id} left no counts")
        self.log.info("generator run %s: %s", self.run_id, status.summary)
        return status.summary


class GeneratorStatusOperator(BaseOperator):
    template_fields: Sequence[str] = ("run_id",)
    ui_color = "#ebf5fb"

    def __init__(self, *, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id

    def execute(self, context: Context) -> dict[str, Any]:
        status = background_status(get_settings(), str(self.run_id))
        return {"run_id": status.run_id, "running": status.running, "summary": status.summary}
