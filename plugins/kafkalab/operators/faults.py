"""Fault injection: break an exercise's outcome on purpose, so its checks can be seen to fail.

Every exercise has a ``fault`` param (default ``none``). A fault task runs only when
the param names its fault; otherwise it is skipped. The checks after it must then
fail with a message that names the damage: that is how the tests (and a curious user)
prove the exercise is not green by construction.

Wiring: under Airflow's default ``all_success`` a skip travels downstream and skips
every task after it, checks included, and a skipped check proves nothing. So the
tasks right after a fault task take ``trigger_rule="none_failed"`` (run after a skip,
not after a failure), and a fault task is never the last task of a task group, where
``group >> next_group`` would hand its skip to every first task of the next group.
``tests/dags`` replays Airflow's trigger rules over every DAG and fault value to hold
this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException


class FaultOperator(BaseOperator):
    """Run ``inject(**arguments)`` when ``params.fault`` equals ``fault``; skip otherwise.

    ``all_success`` by default: a fault is injected into an outcome that was reached,
    never after a failure upstream.
    """

    template_fields: Sequence[str] = ("selected", "arguments")
    ui_color = "#f5b7b1"

    def __init__(
        self,
        *,
        fault: str,
        inject: Callable[..., dict[str, Any]],
        arguments: dict[str, Any] | None = None,
        selected: str = "{{ params.fault }}",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_success")
        super().__init__(**kwargs)
        self.fault = fault
        self.inject = inject
        self.arguments = arguments or {}
        self.selected = selected

    def execute(self, context: Context) -> dict[str, Any]:
        if self.selected != self.fault:
            raise AirflowSkipException(f"fault {self.fault!r} not selected ({self.selected!r})")
        self.log.warning("injecting fault %r with %s", self.fault, self.arguments)
        return {"fault": self.fault, **self.inject(**self.arguments)}


# --- the faults ------------------------------------------------------------------------------


def duplicate_records(topic: str, count: int, before: dict, after: dict) -> dict[str, Any]:
    """Publish copies of ``count`` records of the range again, as a misbehaving producer."""
    from confluent_kafka import Producer

    from kafkalab.domain.offsets import offsets_for
    from kafkalab.hooks.kafka import LabKafkaHook
    from kafkalab.kafka.client import producer_config
    from kafkalab.kafka.ranges import read_between

    connection = LabKafkaHook().client_config()
    records = []
    for record in read_between(
        connection,
        topic,
        offsets_for(topic, before) or {},
        offsets_for(topic, after) or {},
    ):
        records.append(record)
        if len(records) >= count:
            break
    # Separate produce calls of the same bytes: the idempotent producer deduplicates only
    # its own retries, so these land as second copies, as intended.
    producer = Producer(producer_config(connection))
    for record in records:
        producer.produce(topic, key=record.key, value=record.value, partition=record.partition)
    producer.flush(30)
    return {"topic": topic, "duplicated": len(records)}


def freeze_streaming_job(handle: str) -> dict[str, Any]:
    """Freeze the Spark job, as if its executors hung."""
    from kafkalab.settings import get_settings
    from kafkalab.spark.jobs import StreamingJobs

    return StreamingJobs(get_settings()).pause(handle).to_dict()


def drop_latest_delta_commit(path: str) -> dict[str, Any]:
    """Delete the newest commit of a Delta table: its rows vanish from the table."""
    from kafkalab.hooks.object_store import ObjectStoreHook
    from kafkalab.lake.delta import to_delta_rs_uri

    bucket, _, prefix = to_delta_rs_uri(path).removeprefix("s3://").partition("/")
    client = ObjectStoreHook().get_conn().client()
    log_prefix = f"{prefix.rstrip('/')}/_delta_log/"
    log_files = [o.object_name for o in client.list_objects(bucket, prefix=log_prefix)]
    commits = sorted(name for name in log_files if name.endswith(".json"))
    if not commits:
        raise RuntimeError(f"no Delta commits under s3://{bucket}/{log_prefix}")
    newest = commits[-1]
    version = newest.removesuffix(".json")
    # Delta writers leave a checksum file per commit; without its commit it would make
    # readers refuse the whole table instead of seeing the table one version earlier.
    removed = [newest, f"{version}.crc"]
    # Every tenth commit also gets a checkpoint holding the whole table's state: left in
    # place, readers would start from it and the dropped commit's rows would still be
    # there. Without it (and the pointer to it) they replay the earlier log instead.
    checkpoints = [name for name in log_files if name.startswith(f"{version}.checkpoint")]
    if checkpoints:
        removed += [*checkpoints, f"{log_prefix}_last_checkpoint"]
    for name in removed:
        client.remove_object(bucket, name)
    return {"path": path, "removed": removed}


def stop_consumer_early(group: str, topic: str, target: dict) -> dict[str, Any]:
    """Where ``group``'s next read stops: halfway from its committed offsets to the target.

    The consumer task after this one reads the result (``{"topics": {topic: ...}}``) as
    its ``stop_at``: it really stops there, commits the position it reached and closes,
    as a consumer that died mid-range. Nothing here touches the group's offsets.
    """
    from kafkalab.domain.offsets import offsets_for
    from kafkalab.hooks.kafka import LabKafkaHook

    with LabKafkaHook().lab_admin() as admin:
        committed = admin.committed_offsets(group, [topic]).get(topic, {})
    stop = {
        p: committed.get(p, 0) + (o - committed.get(p, 0)) // 2
        for p, o in (offsets_for(topic, target) or {}).items()
    }
    return {"group": group, "topics": {topic: stop}}


def recreate_topic(topic: str, partitions: int) -> dict[str, Any]:
    """Delete the topic and create it again with ``partitions``: an operator's mistake."""
    import time

    from confluent_kafka.admin import NewTopic

    from kafkalab.hooks.kafka import LabKafkaHook

    with LabKafkaHook().lab_admin() as admin:
        admin.admin.delete_topics([topic])[topic].result()
        # Deletion completes asynchronously in the controller: retry the create briefly.
        deadline = time.monotonic() + 60
        while True:
            try:
                admin.admin.create_topics([NewTopic(topic, num_partitions=int(partitions))])[
                    topic
                ].result()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        return {"topic": topic, "partitions": int(partitions)}


def resume_paused_job(
    handle: str, group: str, topic: str, timeout: float = 300.0
) -> dict[str, Any]:
    """Let the paused Spark job run again (a pause that did not hold), until its group
    commits: the outage then did not stop the consumer at all."""
    import time

    from kafkalab.hooks.kafka import LabKafkaHook
    from kafkalab.settings import get_settings
    from kafkalab.spark.jobs import StreamingJobs

    with LabKafkaHook().lab_admin() as admin:
        before = admin.committed_offsets(group, [topic]).get(topic, {})
        StreamingJobs(get_settings()).resume(handle)
        deadline = time.monotonic() + timeout
        while (after := admin.committed_offsets(group, [topic]).get(topic, {})) == before:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the resumed job's group {group} committed nothing in {timeout}s"
                )
            time.sleep(1)
        return {"handle": handle, "committed_before": before, "committed_after": after}


def replay_with_the_wrong_schema() -> dict[str, Any]:
    """The replay is started with the claims schema on the transactions topic (an
    operator's slip): it quarantines every record. The replay's start task reads the
    ``fault`` param to choose its stream; this task says so in the run."""
    return {"replay_stream": "insurance", "expected": "every record quarantined"}


def scaled_kept_to_baseline_cores(cores: int | str) -> dict[str, Any]:
    """The scaled job starts with the baseline's executor cores (a config copied from the
    baseline's): more partitions, but no more tasks at once. The scaled phase's start task
    takes its cores from this task's result when it ran, so the damage comes from here."""
    return {"cores": int(cores)}


def leave_broker_down() -> dict[str, Any]:
    """Nothing to do here: the restart task reads the fault param and leaves the broker down."""
    return {"broker_restart": "skipped"}


def shrink_to_one_replica(topic: str) -> dict[str, Any]:
    """Leave every partition of ``topic`` with its leader as the only replica, as a topic
    created with replication factor 1: losing a broker takes its partitions offline."""
    from kafkalab.operators.failover import reassign_replicas

    return reassign_replicas(topic, 1)
