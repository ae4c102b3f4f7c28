"""
## Advanced use case 3: partitioning strategy and scalability

**Objective.** Understand how the partition count drives throughput and consumer
parallelism: a core scaling lever.

**Role in the platform.** Spread the data to maximise throughput and allow highly
parallel consumption.

**Steps.**
1. *Baseline:* the topic has 3 partitions; the generator loads it at a high rate
   (as `DELAY_SECONDS = 0.01` in the lab guide, here straight to Kafka) while the
   Spark job consumes; its lag is sampled and its throughput measured.
2. *Increase partitions:* the topic is altered to `partitions` (6) — Kafka allows
   increasing, not decreasing. The topic must have had fewer partitions before (a topic
   already at the target proves nothing), the describe output must show the new count,
   and Kafka itself, asked for fewer partitions, must refuse (`INVALID_PARTITIONS`).
3. *Scaled:* the Spark job restarts with more parallelism (one task per partition),
   under the same load.

**Verified.** The partition count went up, from fewer than `partitions` to
`partitions`; the topic shows the new count; Kafka refuses a decrease; new
records land on every partition, the new ones included; the scaled job's Delta
table holds every record of its phase exactly once. The report compares throughput
and lag before and after.

By default the exercise works on a copy of `raw_financial_transactions` named after
the run, so it can be repeated (a partition count never goes back down). Set `topic`
to alter a topic of your own; it must have fewer than `partitions` partitions.

**Params.** `partitions`, `rate`, `load_seconds`, `topic`, `timeout_seconds`, and
`fault`: `recreate_topic` deletes the topic after the increase and creates it again
with 3 partitions, as a hasty operator might.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, TaskGroup, dag

from kafkalab.domain.naming import slug
from kafkalab.operators.checks import PartitionSpreadOperator, ScalingComparisonOperator
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.faults import FaultOperator, recreate_topic
from kafkalab.operators.generator import StartGeneratorOperator, StopGeneratorOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.operators.report import LabReportOperator
from kafkalab.operators.spark import StartStreamingJobOperator, StopStreamingJobOperator
from kafkalab.operators.topics import (
    AlterTopicPartitionsOperator,
    DescribeTopicOperator,
    EnsureTopicOperator,
)
from kafkalab.sensors.lag import ConsumerLagSensor

BASELINE_PARTITIONS = 3


@dag(
    dag_id="kafka_repartition_scaling",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["kafkalab", "partitioning", "scaling"],
    doc_md=__doc__,
    user_defined_filters={"slug": slug},
    default_args={"retries": 0, "execution_timeout": dt.timedelta(minutes=20)},
    params={
        "partitions": Param(6, type="integer", minimum=2, description="partitions after"),
        "rate": Param(2000, type="number", minimum=1, description="load, events/s"),
        "load_seconds": Param(30, type="integer", minimum=5, description="load per phase"),
        "topic": Param("", type="string", description="empty: a copy named after the run"),
        "timeout_seconds": Param(300, type="integer", minimum=10),
        "fault": Param("none", enum=["none", "recreate_topic"]),
    },
)
def kafka_repartition_scaling():
    run = "{{ run_id | slug }}"
    topic = "{{ params.topic or ('raw_financial_transactions_scaling_' ~ (run_id | slug)) }}"
    base = "s3a://raw-data-bucket/exercises/scaling/" + run
    timeout = "{{ params.timeout_seconds }}"

    setup = EnsureTopicOperator(task_id="ensure_topic", topic=topic, partitions=BASELINE_PARTITIONS)

    def phase(name: str, min_partitions: str | None) -> tuple[TaskGroup, dict[str, object]]:
        with TaskGroup(name) as group:
            start = SnapshotEndOffsetsOperator(task_id="offsets_start", topics=[topic])
            spark = StartStreamingJobOperator(
                task_id="start_spark",
                handle=f"scaling-{name}-{run}",
                topic=topic,
                output_path=f"{base}/{name}",
                stream="financial",
                starting_offsets=start.output,
                consumer_group=f"spark-scaling-{name}-{run}",
                trigger="processingTime=2 seconds",
                min_partitions=min_partitions,
            )
            load = StartGeneratorOperator(
                task_id="start_load",
                run_id=f"scaling-{name}-{run}",
                target="kafka",
                topics={"financial": topic},
                financial_share=1.0,
                rate="{{ params.rate }}",
                duration="{{ params.load_seconds }}",
                batch_size=1,
            )
            lag = ConsumerLagSensor(
                task_id="lag_under_load",
                group=f"spark-scaling-{name}-{run}",
                topics=[topic],
                mode="at_most",
                threshold=10**12,
                hold_for="{{ params.load_seconds }}",
                timeout_seconds=timeout,
                # Measures during the load: a short wait, run in the task itself.
                deferrable=False,
            )
            stop_load = StopGeneratorOperator(task_id="stop_load", run_id=f"scaling-{name}-{run}")
            drained = ConsumerLagSensor(
                task_id="lag_drains",
                group=f"spark-scaling-{name}-{run}",
                topics=[topic],
                mode="drains_to",
                threshold=0,
                timeout_seconds=timeout,
                deferrable=False,
            )
            stop_spark = StopStreamingJobOperator(
                task_id="stop_spark", handle=f"scaling-{name}-{run}", trigger_rule="all_done"
            )
            end = SnapshotEndOffsetsOperator(task_id="offsets_end", topics=[topic])
            start >> spark >> load >> lag >> stop_load >> drained >> stop_spark >> end
            # stop_spark runs whatever happened (all_done); without this edge a phase that
            # failed would still end in `end`, and everything after would run on it.
            drained >> end
        return group, {
            "start": start,
            "end": end,
            "stop_spark": stop_spark,
            "lag": lag,
            "path": f"{base}/{name}",
        }

    baseline, baseline_tasks = phase("baseline", None)

    with TaskGroup("increase_partitions") as increase:
        alter = AlterTopicPartitionsOperator(
            task_id="alter_partitions", topic=topic, partitions="{{ params.partitions }}"
        )
        fault = FaultOperator(
            task_id="fault_recreate_topic",
            fault="recreate_topic",
            inject=recreate_topic,
            arguments={"topic": topic, "partitions": BASELINE_PARTITIONS},
        )
        describe = DescribeTopicOperator(
            task_id="describe_shows_new_count",
            topic=topic,
            expected_partitions="{{ params.partitions }}",
            # The fault skips itself unless selected: that skip must not skip the check,
            # while a failure upstream still stops it.
            trigger_rule="none_failed",
        )
        refuse = AlterTopicPartitionsOperator(
            task_id="decrease_is_refused",
            topic=topic,
            partitions=BASELINE_PARTITIONS,
            expect_refusal=True,
        )
        alter >> fault >> describe >> refuse

    scaled, scaled_tasks = phase("scaled", "{{ params.partitions }}")

    with TaskGroup("verify") as verify:
        PartitionSpreadOperator(
            task_id="new_records_on_every_partition",
            topic=topic,
            before=scaled_tasks["start"].output,
            after=scaled_tasks["end"].output,
            expected_partitions="{{ params.partitions }}",
        )
        DeltaReconcileOperator(
            task_id="scaled_exactly_once",
            path=scaled_tasks["path"],
            topic=topic,
            from_offsets=scaled_tasks["start"].output,
            to_offsets=scaled_tasks["end"].output,
        )
        ScalingComparisonOperator(
            task_id="compare_phases",
            phases={
                "baseline": {
                    "job": baseline_tasks["stop_spark"].output,
                    "lag": baseline_tasks["lag"].output,
                },
                "scaled": {
                    "job": scaled_tasks["stop_spark"].output,
                    "lag": scaled_tasks["lag"].output,
                },
            },
        )

    report = LabReportOperator(
        task_id="report",
        title="Kafka partitioning and scaling",
        figures={
            "comparison": "verify.compare_phases",
            "increase": "increase_partitions.alter_partitions",
            "describe": "increase_partitions.describe_shows_new_count",
            "decrease": "increase_partitions.decrease_is_refused",
            "spread": "verify.new_records_on_every_partition",
            "scaled_delta": "verify.scaled_exactly_once",
        },
        lag_series={
            "baseline (3 partitions)": "baseline.lag_under_load",
            "scaled": "scaled.lag_under_load",
        },
    )
    setup >> baseline >> increase >> scaled >> verify >> report


kafka_repartition_scaling()
