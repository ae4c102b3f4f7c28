"""Spark streaming jobs from Airflow: a run to completion, or a background job with a handle.

Both take the streaming consumer's options (``kafkalab.spark.spec.StreamingJobSpec``) as
keyword arguments, every one templated, and launch spark-submit through the same
``kafkalab.spark.jobs.SparkSubmit``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import MISSING, fields
from typing import Any, ClassVar

from airflow.exceptions import AirflowException
from airflow.sdk import BaseHook, BaseOperator, Context

from kafkalab.domain.offsets import offsets_for
from kafkalab.domain.throughput import throughput
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.settings import get_settings
from kafkalab.spark.jobs import ForegroundJob, SparkSubmit, StreamingJobs, batch_timings
from kafkalab.spark.spec import JOB_OPTIONS, StreamingJobSpec

_SPEC_DEFAULTS = {f.name: f.default for f in fields(StreamingJobSpec) if f.default is not MISSING}


class _StreamingJobOperator(BaseOperator):
    """The streaming consumer's options as operator arguments; the Kafka address comes
    from the ``kafka_config_id`` connection."""

    template_fields: Sequence[str] = (*JOB_OPTIONS, "spark_conf")
    ui_color = "#fef5e7"
    default_trigger: ClassVar[str] = _SPEC_DEFAULTS["trigger"]

    def __init__(
        self,
        *,
        topic: str,
        output_path: str,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        spark_conf: dict | None = None,
        **kwargs: Any,
    ) -> None:
        options = {name: kwargs.pop(name) for name in JOB_OPTIONS if name in kwargs}
        super().__init__(**kwargs)
        defaults = {**_SPEC_DEFAULTS, "trigger": self.default_trigger}
        for name in JOB_OPTIONS:
            setattr(self, name, options.get(name, defaults.get(name)))
        self.topic = topic
        self.output_path = output_path
        self.kafka_config_id = kafka_config_id
        self.spark_conf = spark_conf or {}

    def spark_starting_offsets(self) -> str:
        """``earliest``/``latest``/JSON as given, or an offset snapshot as Spark's JSON."""
        value = self.starting_offsets
        if isinstance(value, dict):
            offsets = offsets_for(self.topic, value) or {}
            return json.dumps({self.topic: {str(p): o for p, o in sorted(offsets.items())}})
        return value

    def job_spec(self) -> StreamingJobSpec:
        options = {name: getattr(self, name) for name in JOB_OPTIONS}
        options["starting_offsets"] = self.spark_starting_offsets()
        bootstrap = LabKafkaHook(self.kafka_config_id).bootstrap_servers
        return StreamingJobSpec(bootstrap=bootstrap, **options)

    def spark_conf_strings(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.spark_conf.items()}


class SparkStreamingJobOperator(_StreamingJobOperator):
    """Run spark_jobs/streaming_consumer.py to its end (availableNow, or bounded by
    ``run_for`` / ``stop_when_idle``) in the foreground, its output in the task log.

    Jars and S3 settings come from the lab's spark-defaults.conf (SPARK_CONF_DIR); the
    binary, master and deploy mode from the ``conn_id`` Spark connection (``spark_default``:
    ``local[*]`` or ``spark://...``), as Airflow's SparkSubmitOperator reads them.
    """

    template_fields: Sequence[str] = (*_StreamingJobOperator.template_fields, "name")
    default_trigger = "availableNow"

    def __init__(
        self,
        *,
        conn_id: str = "spark_default",
        name: str = "kafkalab-streaming-consumer",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.name = name
        self._job: ForegroundJob | None = None

    def spark_submit(self) -> SparkSubmit:
        """The connection read as the provider's SparkSubmitHook reads it."""
        connection = BaseHook.get_connection(self.conn_id)
        extra = connection.extra_dejson
        # A connection made from a URI keeps the master's scheme in conn_type; one made
        # from JSON or the UI has the whole master URL (`local[*]`, `spark://...`) as host.
        master = connection.host or ""
        if not (
            connection.conn_type == "spark" and master and ("://" in master or not connection.port)
        ):
            master = f"{connection.conn_type}://{master}"
        if connection.port:
            master = f"{master}:{connection.port}"
        return SparkSubmit(
            binary=extra.get("spark-binary", "spark-submit"),
            master=master,
            deploy_mode=extra.get("deploy-mode"),
            name=self.name,
            conf=self.spark_conf_strings(),
        )

    def execute(self, context: Context) -> None:
        command = self.spark_submit().streaming_command(self.job_spec())
        self.log.info("Spark-Submit cmd: %s", " ".join(command))
        self._job = ForegroundJob(command, self.log.info)
        finished = self._job.run()
        if finished.returncode:
            error = (finished.outcome or {}).get("error")
            raise AirflowException(
                f"Cannot execute: {' '.join(command)}. Error code is: {finished.returncode}."
                + (f"\nThe streaming query failed: {error}" if error else "")
                + f"\nLast spark-submit output:\n{finished.log_tail}"
            )
        self.log.info("streaming job finished: %s", finished.outcome)

    def on_kill(self) -> None:
        if self._job is not None:
            self._job.kill()


class StartStreamingJobOperator(_StreamingJobOperator):
    """Start the streaming consumer in the background; later tasks use ``handle``."""

    template_fields: Sequence[str] = ("handle", *_StreamingJobOperator.template_fields)

    def __init__(self, *, handle: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handle = handle

    def execute(self, context: Context) -> dict[str, Any]:
        # Wall-clock times, comparable with Kafka's and other tasks' timestamps: a recovery
        # time counts from the request, the JVM's start-up included.
        requested_at = time.time()
        status = StreamingJobs(get_settings()).start(
            self.handle, self.job_spec(), self.spark_conf_strings()
        )
        self.log.info("streaming job %s: %s (log %s)", status.handle, status.state, status.log_path)
        return {**status.to_dict(), "requested_at": requested_at, "query_started_at": time.time()}


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
        outcome = result.get("outcome")
        # The same split as bench/replay.py: the figure a user reads is the benchmark's.
        result["throughput"] = throughput(
            batch_timings(outcome if isinstance(outcome, dict) else None)
        )
        return result
