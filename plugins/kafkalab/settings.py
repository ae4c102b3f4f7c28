"""The one settings object for everything outside Airflow.

The ingestor, the generator, the Spark job and `./lab` read their ports, credentials
and paths from here. Every field can be set by an environment variable named
``KAFKALAB_<FIELD>`` (for example ``KAFKALAB_KAFKA_BOOTSTRAP``); the defaults are the
local profile. Airflow code reads the same facts through Connections, which `./lab`
renders from this object (see ``kafkalab.lab.stack.environment``).

The local S3 credentials below are documented defaults for a server bound to
127.0.0.1, not secrets.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
# Node N of a Kafka cluster listens on node 1's ports plus (N - 1) * this step.
KAFKA_NODE_PORT_STEP = 100


class LabSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKALAB_", extra="ignore", frozen=True)

    profile: Literal["local", "compose"] = "local"
    home: Path = Field(
        default=REPO_ROOT / ".lab",
        description="State directory: virtualenv, jars, service data, logs.",
    )
    host: str = "127.0.0.1"

    # 1: one KRaft node, replication factor 1. 3: a cluster of three nodes (each broker
    # and controller), topics at replication factor 3 with min.insync.replicas=2.
    kafka_brokers: int = Field(default=1, ge=1, le=3, alias="KAFKALAB_BROKERS")
    # Node 1's ports; node N's are these plus (N - 1) * KAFKA_NODE_PORT_STEP.
    kafka_broker_port: int = 9092
    # A second listener of the same broker, at the address the lab guide's commands use.
    kafka_guide_port: int = 29092
    kafka_controller_port: int = 9093
    kafka_heap: str = "-Xms256m -Xmx768m"
    kafka_bootstrap_override: str | None = Field(default=None, alias="KAFKALAB_KAFKA_BOOTSTRAP")

    s3_port: int = 9000
    s3_endpoint_override: str | None = Field(default=None, alias="KAFKALAB_S3_ENDPOINT")
    s3_access_key: str = "kafkalab"
    s3_secret_key: str = "kafkalab-local-secret"
    s3_region: str = "us-east-1"
    raw_bucket: str = "raw-data-bucket"
    reports_bucket: str = "lab-reports"

    airflow_port: int = 8080
    airflow_user: str = "admin"
    airflow_parallelism: int = 4
    # Off on a user's stack, so the nightly DR drill is scheduled from the first start.
    # `./lab test` (and so CI) turns it on: DAGs the stack creates under the tests stay
    # paused, and no scheduled run fires while they run.
    pause_dags_at_creation: bool = False

    ingestor_port: int = 8000
    # How long the ingestor's producer keeps retrying a record before answering 503.
    # Longer than a leader election after a broker is lost (its session timeout, 9 s,
    # plus the election): the idempotent producer's own retries reach the new leader,
    # which drops what it already has. Shorter, a record the old leader had replicated
    # is answered 503, the client sends it again, and it lands twice. Shorter, too,
    # than the generator's request timeout, for the same reason.
    ingestor_delivery_timeout_seconds: float = 30.0
    ingestor_url_override: str | None = Field(default=None, alias="KAFKALAB_INGESTOR_URL")

    # `./lab up --spark-cluster`: a standalone master and one worker on `host`
    # (kafkalab.lab.stack.spark_cluster) instead of one local JVM per job.
    spark_cluster: bool = False
    spark_master_port: int = 7077
    # Not 8080, Airflow's port (Spark's own default for the master's UI).
    spark_master_ui_port: int = 8090
    spark_worker_port: int = 7078
    spark_worker_ui_port: int = 8091
    # The scaling exercise compares 1 executor core with 2: the worker must offer 2
    # whatever the machine reports, and room for two 1g executors (a paused job and
    # the replay job that runs while it is paused).
    spark_worker_cores: int = 2
    spark_worker_memory: str = "2g"
    spark_executor_memory: str = "1g"
    spark_master_override: str | None = Field(default=None, alias="KAFKALAB_SPARK_MASTER")

    # Stream name -> topic, for runs that must not write to the exercise topics
    # (benchmarks): KAFKALAB_TOPIC_OVERRIDES='{"financial": "bench_financial"}'.
    topic_overrides: dict[str, str] = Field(default_factory=dict)

    # SeaweedFS `weed mini` opens these besides S3; all bound to `host`.
    seaweed_master_port: int = 9333
    seaweed_volume_port: int = 9340
    seaweed_filer_port: int = 8888
    seaweed_admin_port: int = 23646

    @property
    def kafka_bootstrap(self) -> str:
        """Every broker of the cluster: a client still finds one when another is down."""
        if self.kafka_bootstrap_override:
            return self.kafka_bootstrap_override
        return ",".join(
            f"{self.host}:{self.kafka_broker_port + node * KAFKA_NODE_PORT_STEP}"
            for node in range(self.kafka_brokers)
        )

    @property
    def kafka_replication_factor(self) -> int:
        """Replicas per partition: every broker, up to three."""
        return min(3, self.kafka_brokers)

    @property
    def kafka_min_insync_replicas(self) -> int:
        """With three replicas, an acknowledged write survives the loss of any one broker."""
        return max(1, self.kafka_replication_factor - 1)

    @property
    def s3_endpoint(self) -> str:
        return self.s3_endpoint_override or f"http://{self.host}:{self.s3_port}"

    @property
    def spark_master(self) -> str:
        if self.spark_master_override:
            return self.spark_master_override
        if self.spark_cluster:
            return f"spark://{self.host}:{self.spark_master_port}"
        return "local[*]"

    @property
    def airflow_url(self) -> str:
        return f"http://{self.host}:{self.airflow_port}"

    @property
    def ingestor_url(self) -> str:
        return self.ingestor_url_override or f"http://{self.host}:{self.ingestor_port}"

    def topic_for(self, stream_name: str, default: str) -> str:
        return self.topic_overrides.get(stream_name, default)

    @cached_property
    def paths(self) -> LabPaths:
        return LabPaths(self.home)


class LabPaths:
    """Where the lab keeps its state; everything lives under one directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.venv = home / "venv"
        self.jars = home / "jars"
        self.kafka_jars = self.jars / "kafka"
        self.spark_jars = self.jars / "spark"
        self.data = home / "data"
        self.kafka_data = self.data / "kafka"
        self.s3_data = self.data / "s3"
        self.airflow_home = self.data / "airflow"
        self.run = home / "run"
        self.logs = home / "logs"
        self.conf = home / "conf"
        self.spark_conf = self.conf / "spark"
        self.cache = home / "cache"
        # Files a run leaves for a person to look at: benchmark sweeps, UI screenshots.
        self.artifacts = home / "artifacts"


def get_settings() -> LabSettings:
    return LabSettings()
