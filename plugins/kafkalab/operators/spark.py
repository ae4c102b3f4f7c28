"""Spark streaming jobs from Airflow: a run to completion, or a background job with a handle."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import BaseOperator, Context

from kafkalab.domain.offsets import offsets_for
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.settings import get_settings
from kafkalab.spark.jobs import STREAMING_JOB, StreamingJobs, streaming_job_args

JOB_TEMPLATE_FIELDS = (
    "topic",
    "output_path",
    "starting_offsets",
    "trigger",
    "consumer_group",
    "checkpoint",
    "quarantine_path",
    "max_offsets_per_trigger",
    "min_partitions",
    "run_for",
    "stop_when_idle",
)


class _StreamingJobArguments:
    """The streaming consumer's options as operator arguments (templated)."""

    def _init_job(
        self,
        topic: str,
        output_path: str,
        starting_offsets: str = "earliest",
        trigger: str = "availableNow",
        consumer_group: str | None = None,
        checkpoint: str | None = None,
        quarantine_path: str | None = None,
        stream: str | None = None,
        max_offsets_per_trigger: int | str | None = None,
        min_partitions: int | str | None = None,
        run_for: float | str | None = None,
        stop_when_idle: float | str | None = None,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
    ) -> None:
        self.topic = topic
        self.output_path = output_path
        self.starting_offsets = starting_offsets
        self.trigger = trigger
        self.consumer_group = consumer_group
        self.checkpoint = checkpoint
        self.quarantine_path = quarantine_path
        self.stream = stream
        self.max_offsets_per_trigger = max_offsets_per_trigger
        self.min_partitions = min_partitions
        self.run_for = run_for
        self.stop_when_idle = stop_when_idle
        self.kafka_config_id = kafka_config_id

    def spark_starting_offsets(self) -> str:
        """``earliest``/``latest``/JSON as given, or an offset snapshot as Spark's JSON."""
        value = self.starting_offsets
        if isinstance(value, dict):
            offsets = offsets_for(self.topic, value) or {}
            return json.dumps({self.topic: {str(p): o for p, o in sorted(offsets.items())}})
        return value

    def job_args(self) -> list[str]:
        return streaming_job_args(
            self.topic,
            LabKafkaHook(self.kafka_config_id).bootstrap_servers,
            self.output_path,
            starting_offsets=self.spark_starting_offsets(),
            trigger=self.trigger,
            consumer_group=self.consumer_group,
            checkpoint=self.checkpoint,
            quarantine_path=self.quarantine_path,
            stream=self.stream,
            max_offsets_per_trigger=self.max_offsets_per_trigger,
            min_partitions=self.min_partitions,
            run_for=self.run_for,
            stop_when_idle=self.stop_when_idle,
        )


class SparkStreamingJobOperator(_StreamingJobArguments, SparkSubmitOperator):
    """Run spark_jobs/streaming_consumer.py to its end (availableNow, or bounded by
    ``run_for`` / ``stop_when_idle``) through the provider's spark-submit hook.

    Jars and S3 settings come from the lab's spark-defaults.conf (SPARK_CONF_DIR);
    the master from the ``spark_default`` connection (``local[*]`` or ``spark://...``).
    """

    template_fields: Sequence[str] = (*SparkSubmitOperator.template_fields, *JOB_TEMPLATE_FIELDS)
    ui_color = "#fef5e7"

    def __init__(
        self,
        *,
        topic: str,
        output_path: str,
        starting_offsets: str = "earliest",
        trigger: str = "availableNow",
        consumer_group: str | None = None,
        checkpoint: str | None = None,
        quarantine_path: str | None = None,
        stream: str | None = None,
        max_offsets_per_trigger: int | str | None = None,
        min_partitions: int | str | None = None,
        run_for: float | str | None = None,
        stop_when_idle: float | str | None = None,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("name", "kafkalab-streaming-consumer")
        super().__init__(application=str(STREAMING_JOB), **kwargs)
        self._init_job(
            topic,
            output_path,
            starting_offsets,
            trigger,
            consumer_group,
            checkpoint,
            quarantine_path,
            stream,
            max_offsets_per_trigger,
            min_partitions,
            run_for,
            stop_when_idle,
            kafka_config_id,
        )

    def execute(self, context: Context) -> Any:
        self.application_args = self.job_args()
        return super().execute(context)


class StartStreamingJobOperator(_StreamingJobArguments, BaseOperator):
    """Start the streaming consumer in the background; later tasks use ``handle``."""

    template_fields: Sequence[str] = ("handle", "spark_conf", *JOB_TEMPLATE_FIELDS)
    ui_color = "#fef5e7"

    def __init__(
        self,
        *,
        handle: str,
        topic: str,
        output_path: str,
        trigger: str = "processingTime=5 seconds",
        spark_conf: dict | None = None,
        **kwargs: Any,
    ) -> None:
        job_keys = (
            "starting_offsets",
            "consumer_group",
            "checkpoint",
            "quarantine_path",
            "stream",
            "max_offsets_per_trigger",
            "min_partitions",
            "run_for",
            "stop_when_idle",
            "kafka_config_id",
        )
        job = {k: kwargs.pop(k) for k in job_keys if k in kwargs}
        super().__init__(**kwargs)
        self.handle = handle
        self.spark_conf = spark_conf or {}
        self._init_job(topic, output_path, trigger=trigger, **job)

    def execute(self, context: Context) -> dict[str, Any]:
        status = StreamingJobs(get_settings()).start(
            self.handle, self.job_args(), {k: str(v) for k, v in self.spark_conf.items()}
        )
        self.log.info("streaming job %s: %s (log %s)", status.handle, status.state, status.log_path)
        return status.to_dict()


class _StreamingJobHandleOperator(BaseOperator):
    template_fields: Sequence[str] = ("handle",)
    ui_color = "#fdebd0"

    def __init__(self, *, handle: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handle = handle

    def jobs(self) -> StreamingJobs:
        return StreamingJobs(get_settings())


class PauseStreamingJobOperator(_StreamingJobHandleOperator):
    """Freeze the job (SIGSTOP), as `docker compose pause spark` would."""

    def execute(self, context: Context) -> dict[str, Any]:
        return self.jobs().pause(self.handle).to_dict()


class ResumeStreamingJobOperator(_StreamingJobHandleOperator):
    def execute(self, context: Context) -> dict[str, Any]:
        return self.jobs().resume(self.handle).to_dict()


class StopStreamingJobOperator(_StreamingJobHandleOperator):
    """Stop the job between batches and return its closing report."""

    def __init__(self, *, timeout_seconds: float = 180.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout_seconds = timeout_seconds

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.jobs().stop(self.handle, timeout=self.timeout_seconds)
        self.log.info("streaming job %s stopped: %s", self.handle, result["outcome"])
        return result
