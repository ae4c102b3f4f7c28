"""
## Advanced use case 4: broker failover — lose a broker under load

**Objective.** Show what replication buys: on a cluster of three brokers, with
producers posting through the ingestor and a Spark job streaming, a broker dies
(`kill -9`) and nothing acknowledged is lost, duplicated or stuck.

**Needs the three-broker cluster:** `./lab up --brokers 3` (`./lab run failover` starts
it). The lab's topics there have replication factor 3, `min.insync.replicas=2`, and
unclean leader election off.

**Steps** (on `raw_financial_transactions`).
1. The generator posts through the ingestor at `rate`; the Spark streaming job
   consumes from the current end offsets and catches up.
2. The broker that leads the most partitions of the topic is killed with `kill -9`.
3. Sensors watch Kafka's own metadata: the partitions it led get a new leader from
   their in-sync replicas, and the partitions show under-replicated; then the topic's
   end offsets must advance by `outage_records` while the broker is still down.
4. The broker is restarted; a sensor waits until it is back in every ISR.
5. The generator stops; the Spark job drains its lag.

**Verified.** First, that the cluster can lose a broker: three brokers, every
partition with three replicas in sync. Then:
- New leaders within `max_election_seconds` of the kill (election time reported).
- Under-replicated partitions appear, and return to 0 after the restart (time to
  rejoin reported).
- The ingestor kept acknowledging: the generator saw acknowledgements between the
  kill and the rejoin (its retries and the dip in events/s are reported).
- Every acknowledged event is in Kafka exactly once, by id (the idempotent producer
  across a leader change), and in the Spark job's Delta table exactly once.
- The Spark job survived without a restart (same driver process), and its lag drained.

**Params.** `rate`, `caught_up_within`, `outage_records` (records the topic must
gain while the broker is down), `max_election_seconds`, `max_rejoin_seconds`,
`timeout_seconds`, and `fault`: `broker_not_restarted` leaves the killed broker down,
so its replicas never rejoin the ISR; `replication_factor_1` leaves each partition of
the topic with its leader as the only replica (as a topic created with replication
factor 1), so the partitions of the killed broker go offline. The teardown restarts
any broker that is down and gives the topic its three replicas back.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, TaskGroup

from kafkalab.domain.topics import load_topic_specs
from kafkalab.exercise import (
    AFTER_FAULT,
    Report,
    exercise_dag,
    fault_task,
    lag_drains,
    lake_path,
    live_stream,
    one_task_per_topic,
    setup_group,
)
from kafkalab.operators.checks import VerifyGeneratorRunOperator
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.failover import (
    ClusterReplicatedOperator,
    EnsureBrokersUpOperator,
    FailoverFiguresOperator,
    KillBusiestLeaderOperator,
    PartitionStateSensor,
    RestartBrokerOperator,
    RestoreReplicationOperator,
    SparkSurvivedOperator,
)
from kafkalab.operators.faults import leave_broker_down, shrink_to_one_replica
from kafkalab.operators.generator import StopGeneratorOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.operators.spark import StopStreamingJobOperator
from kafkalab.sensors.offsets import EndOffsetsAdvancedSensor

TOPIC = "raw_financial_transactions"
TOPICS = load_topic_specs()
TOPIC_NAMES = [spec.name for spec in TOPICS]


@exercise_dag(
    dag_id="kafka_broker_failover_drill",
    doc_md=__doc__,
    tags=["failover", "replication", "disaster-recovery"],
    execution_timeout=dt.timedelta(minutes=20),
    params={
        "rate": Param(100, type="number", minimum=1, description="generator events/s"),
        "caught_up_within": Param(
            1000, type="integer", minimum=0, description="Spark lag that counts as caught up"
        ),
        "outage_records": Param(
            200,
            type="integer",
            minimum=1,
            description="records the topic must gain while the broker is down",
        ),
        "max_election_seconds": Param(
            60,
            type="number",
            minimum=1,
            description="bound on the time from the kill to new leaders for its partitions",
        ),
        "max_rejoin_seconds": Param(
            240,
            type="integer",
            minimum=10,
            description="how long the restarted broker may take to rejoin every ISR",
        ),
    },
    # The Spark job's first batch (JVM start-up, the table's first commit) can take
    # minutes on two cores shared with three brokers.
    timeout_seconds=600,
    faults=["broker_not_restarted", "replication_factor_1"],
)
def kafka_broker_failover_drill() -> Report:
    run = "{{ run_id | slug }}"
    generator_run = f"failover-{run}"
    group, handle = f"spark-failover-{run}", f"failover-{run}"
    output = lake_path("exercises", "failover", run, "financial_data_delta")
    timeout = "{{ params.timeout_seconds }}"

    setup = setup_group(one_task_per_topic(TOPICS))
    with setup.group:
        replicated = ClusterReplicatedOperator(task_id="cluster_replicated", topic=TOPIC)
        setup.ingestor >> replicated

    with TaskGroup("live") as live:
        streaming = live_stream(
            offsets_of=TOPIC_NAMES,
            generator_run=generator_run,
            topic=TOPIC,
            handle=handle,
            output_path=output,
            group=group,
            caught_up_within="{{ params.caught_up_within }}",
            timeout=timeout,
        )

    with TaskGroup("failover") as failover:
        single_replica = fault_task("replication_factor_1", shrink_to_one_replica, topic=TOPIC)
        kill = KillBusiestLeaderOperator(
            task_id="kill_busiest_leader", topic=TOPIC, trigger_rule=AFTER_FAULT
        )
        # Waited for no longer than the bound: a partition without an in-sync replica
        # left has no leader for as long as its broker is down.
        elected = PartitionStateSensor(
            task_id="new_leaders_elected",
            topic=TOPIC,
            condition="leaders_moved",
            event=kill.output,
            max_seconds="{{ params.max_election_seconds }}",
            timeout_seconds="{{ params.max_election_seconds }}",
        )
        under_replicated = PartitionStateSensor(
            task_id="under_replicated_seen",
            topic=TOPIC,
            condition="under_replicated",
            event=kill.output,
            timeout_seconds=timeout,
        )
        # Taken once the leaders moved, while the broker is still down.
        at_kill = SnapshotEndOffsetsOperator(task_id="offsets_broker_down", topics=[TOPIC])
        kept_ingesting = EndOffsetsAdvancedSensor(
            task_id="ingest_continued",
            before=at_kill.output,
            min_advance={TOPIC: "{{ params.outage_records }}"},
            timeout_seconds=timeout,
        )
        not_restarted = fault_task("broker_not_restarted", leave_broker_down)
        restart = RestartBrokerOperator(
            task_id="restart_broker",
            killed=kill.output,
            restart="{{ params.fault != 'broker_not_restarted' }}",
            trigger_rule=AFTER_FAULT,
        )
        rejoined = PartitionStateSensor(
            task_id="isr_recovered",
            topic=TOPIC,
            condition="fully_replicated",
            event=kill.output,
            timeout_seconds="{{ params.max_rejoin_seconds }}",
        )
        stop_generator = StopGeneratorOperator(task_id="stop_generator", run_id=generator_run)
        final = SnapshotEndOffsetsOperator(task_id="offsets_final", topics=TOPIC_NAMES)
        single_replica >> kill >> elected >> [under_replicated, at_kill]
        at_kill >> kept_ingesting
        [under_replicated, kept_ingesting] >> not_restarted >> restart
        restart >> rejoined >> stop_generator >> final

    with TaskGroup("verify") as verify:
        drained = lag_drains("spark_lag_drained", group=group, topic=TOPIC, to=0, timeout=timeout)
        survived = SparkSurvivedOperator(
            task_id="spark_survived", handle=handle, started=streaming.spark.output
        )
        records = VerifyGeneratorRunOperator(
            task_id="kafka_exactly_once",
            generator_summary=stop_generator.output,
            before=streaming.start.output,
            after=final.output,
        )
        delta = DeltaReconcileOperator(
            task_id="delta_exactly_once",
            path=output,
            topic=TOPIC,
            from_offsets=streaming.start.output,
            to_offsets=final.output,
            id_column="transaction_id",
            later_records_allowed=True,
        )
        figures = FailoverFiguresOperator(
            task_id="failover_figures",
            generator=stop_generator.output,
            killed=kill.output,
            elected=elected.output,
            restarted=restart.output,
            rejoined=rejoined.output,
        )
        drained >> [survived, delta]

    with TaskGroup("teardown") as teardown:
        StopStreamingJobOperator(task_id="stop_spark", handle=handle, trigger_rule="all_done")
        StopGeneratorOperator(
            task_id="stop_generator_if_running", run_id=generator_run, trigger_rule="all_done"
        )
        # Whatever happened, the cluster is whole again for the next run.
        brokers_up = EnsureBrokersUpOperator(task_id="brokers_back_up", trigger_rule="all_done")
        restored = RestoreReplicationOperator(
            task_id="replication_restored", topic=TOPIC, trigger_rule="all_done"
        )
        brokers_up >> restored

    setup.group >> live >> failover >> verify >> teardown
    return Report(
        title="Kafka broker failover drill",
        figures={
            "failover": figures,
            "killed": kill,
            "election": elected,
            "under_replicated": under_replicated,
            "rejoin": rejoined,
            "generator": stop_generator,
            "records": records,
            "delta": delta,
            "spark": survived,
        },
        lag_series={"spark consumer": drained},
        headline={
            "broker killed": ("failover.broker", "node"),
            "new leaders after": ("failover.election_seconds", "s"),
            "back in every ISR after restart": ("failover.rejoin_seconds", "s"),
            "ingest before the kill": ("failover.ingest.baseline_events_per_s", "events/s"),
            "ingest, lowest second of the outage": (
                "failover.ingest.lowest_events_per_s",
                "events/s",
            ),
            "seconds without an acknowledgement": (
                "failover.ingest.seconds_without_acknowledgement",
                "s",
            ),
            "generator retries": ("failover.generator_retries", "requests"),
            "events acknowledged": ("generator.acknowledged", "events"),
            "transactions found in Kafka": ("records.raw_financial_transactions.found", "records"),
            "lost in Delta": ("delta.missing", "records"),
            "duplicated in Delta": ("delta.duplicated", "records"),
        },
    )


kafka_broker_failover_drill()
