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
from typing import NamedTuple

from airflow.sdk import BaseOperator, Param, TaskGroup

from kafkalab.exercise import Report, exercise_dag, fault_task, lag_drains, lake_path
from kafkalab.operators.checks import PartitionSpreadOperator
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.faults import recreate_topic
from kafkalab.operators.figures import ScalingComparisonOperator
from kafkalab.operators.generator import StartGeneratorOperator, StopGeneratorOperator
from kafkalab.operators.lag_sampling import ConsumerLagSamplingOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.operators.spark import StartStreamingJobOperator, StopStreamingJobOperator
from kafkalab.operators.topics import (
    AlterTopicPartitionsOperator,
    DescribeTopicOperator,
    EnsureTopicOperator,
)

BASELINE_PARTITIONS = 3


class Phase(NamedTuple):
    """One load phase's group, and the tasks the later phases read."""

    group: TaskGroup
    start: BaseOperator
    end: BaseOperator
    stop_spark: BaseOperator
    lag: BaseOperator
    path: str


@exercise_dag(
    dag_id="kafka_repartition_scaling",
    doc_md=__doc__,
    tags=["partitioning", "scaling"],
    execution_timeout=dt.timedelta(minutes=20),
    params={
        "partitions": Param(6, type="integer", minimum=2, description="partitions after"),
        "rate": Param(2000, type="number", minimum=1, description="load, events/s"),
        "load_seconds": Param(30, type="integer", minimum=5, description="load per phase"),
        "topic": Param("", type="string", description="empty: a copy named after the run"),
    },
    timeout_seconds=300,
    faults=["recreate_topic"],
)
def kafka_repartition_scaling() -> Report:
    run = "{{ run_id | slug }}"
    topic = "{{ params.topic or ('raw_financial_transactions_scaling_' ~ (run_id | slug)) }}"
    base = lake_path("exercises", "scaling", run)
    timeout = "{{ params.timeout_seconds }}"

    setup = EnsureTopicOperator(task_id="ensure_topic", topic=topic, partitions=BASELINE_PARTITIONS)

    def phase(name: str, min_partitions: str | None) -> Phase:
        # The phase's generator run and Spark job handle; its Spark group is spark-<this>.
        in_run = f"scaling-{name}-{run}"
        spark_group = f"spark-{in_run}"
        with TaskGroup(name) as group:
            start = SnapshotEndOffsetsOperator(task_id="offsets_start", topics=[topic])
            spark = StartStreamingJobOperator(
                task_id="start_spark",
                handle=in_run,
                topic=topic,
                output_path=f"{base}/{name}",
                stream="financial",
                starting_offsets=start.output,
                consumer_group=spark_group,
                trigger="processingTime=2 seconds",
                min_partitions=min_partitions,
            )
            load = StartGeneratorOperator(
                task_id="start_load",
                run_id=in_run,
                target="kafka",
                topics={"financial": topic},
                financial_share=1.0,
                rate="{{ params.rate }}",
                duration="{{ params.load_seconds }}",
                batch_size=1,
            )
            # A measurement over the load, not a condition: the report and the comparison
            # read its samples.
            lag = ConsumerLagSamplingOperator(
                task_id="lag_under_load",
                group=spark_group,
                topics=[topic],
                duration="{{ params.load_seconds }}",
            )
            stop_load = StopGeneratorOperator(task_id="stop_load", run_id=in_run)
            # A short wait: run in the task itself, not handed to the triggerer.
            drained = lag_drains(
                "lag_drains",
                group=spark_group,
                topic=topic,
                to=0,
                timeout=timeout,
                deferrable=False,
            )
            stop_spark = StopStreamingJobOperator(
                task_id="stop_spark", handle=in_run, trigger_rule="all_done"
            )
            end = SnapshotEndOffsetsOperator(task_id="offsets_end", topics=[topic])
            start >> spark >> load >> lag >> stop_load >> drained >> stop_spark >> end
            # stop_spark runs whatever happened (all_done); without this edge a phase that
            # failed would still end in `end`, and everything after would run on it.
            drained >> end
        return Phase(group, start, end, stop_spark, lag, path=f"{base}/{name}")

    baseline = phase("baseline", None)

    with TaskGroup("increase_partitions") as increase:
        alter = AlterTopicPartitionsOperator(
            task_id="alter_partitions", topic=topic, partitions="{{ params.partitions }}"
        )
        fault = fault_task(
            "recreate_topic", recreate_topic, topic=topic, partitions=BASELINE_PARTITIONS
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

    scaled = phase("scaled", "{{ params.partitions }}")

    with TaskGroup("verify") as verify:
        spread = PartitionSpreadOperator(
            task_id="new_records_on_every_partition",
            topic=topic,
            before=scaled.start.output,
            after=scaled.end.output,
            expected_partitions="{{ params.partitions }}",
        )
        scaled_delta = DeltaReconcileOperator(
            task_id="scaled_exactly_once",
            path=scaled.path,
            topic=topic,
            from_offsets=scaled.start.output,
            to_offsets=scaled.end.output,
        )
        comparison = ScalingComparisonOperator(
            task_id="compare_phases",
            phases={
                name: {"job": tasks.stop_spark.output, "lag": tasks.lag.output}
                for name, tasks in (("baseline", baseline), ("scaled", scaled))
            },
        )

    setup >> baseline.group >> increase >> scaled.group >> verify
    return Report(
        title="Kafka partitioning and scaling",
        figures={
            "comparison": comparison,
            "increase": alter,
            "describe": describe,
            "decrease": refuse,
            "spread": spread,
            "scaled_delta": scaled_delta,
        },
        lag_series={"baseline (3 partitions)": baseline.lag, "scaled": scaled.lag},
    )


kafka_repartition_scaling()
