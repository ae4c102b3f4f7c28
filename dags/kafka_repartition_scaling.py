"""
## Advanced use case 3: partitioning strategy and scalability

**Objective.** Understand how the partition count drives throughput and consumer
parallelism: a core scaling lever.

**Role in the platform.** Spread the data to maximise throughput and allow highly
parallel consumption.

**Steps.** Each phase is driven so that the consumer is the bottleneck: the generator
first fills the topic with a `backlog` of records (straight to Kafka, every one
acknowledged) while no job reads it, then the phase's Spark job starts from the
phase's first offset and drains it, `batch_records` per micro-batch, while its
group's lag is sampled down to zero. Both phases get the same backlog.
1. *Baseline:* the topic has 3 partitions; the job runs with `baseline_cores` executor
   core(s) (`local[1]`; on the standalone cluster, `spark.cores.max`).
2. *Increase partitions:* the topic is altered to `partitions` (6) — Kafka allows
   increasing, not decreasing. The topic must have had fewer partitions before (a topic
   already at the target proves nothing), the describe output must show the new count,
   and Kafka itself, asked for fewer partitions, must refuse (`INVALID_PARTITIONS`).
3. *Scaled:* the job restarts with `scaled_cores` executor cores (`local[2]`, or as
   many on the cluster) and one task per partition, on a backlog of the same size.

**Verified.** The partition count went up, from fewer than `partitions` to
`partitions`; the topic shows the new count; Kafka refuses a decrease; new records
land on every partition, the new ones included; each phase's Delta table holds every
record of its phase exactly once. From each job's Spark event log (Spark's own facts:
query progress per batch, tasks per stage with their launch and finish times):

- *In parallel*: the scaled job had at least 2 executor cores, every one of the
  `partitions` partitions advanced, and the batches that read all of them with one
  task each, at least two of those tasks running at the same time, carried at least
  half the phase's rows. On a 2-core machine "in parallel" cannot mean more: at most
  two tasks run at once, whatever the partition count.
- *Against the baseline*: the scaled phase's steady-state throughput (rows over the
  duration of its batches after the first) and its drain rate (backlog over the time
  from its first batch's start to its last one's end, the time its lag took to reach
  zero) are each at least `min_speedup` times the baseline's, measured in the same run.
  The default (0.5) holds on a 2-core machine running the whole stack, where a second
  core does not reliably make the job faster: a batch's fixed costs (Delta's commit,
  the query's planning) do not parallelise, and Kafka, the object store and Airflow
  share the same two cores. It catches a scaled phase that fell far behind; raise it
  on a larger machine. The report shows both phases' figures.

By default the exercise works on a copy of `raw_financial_transactions` named after
the run, so it can be repeated (a partition count never goes back down). Set `topic`
to alter a topic of your own; it must have fewer than `partitions` partitions.

**Params.** `partitions`, `backlog`, `batch_records`, `baseline_cores`,
`scaled_cores`, `min_speedup`, `topic`, `timeout_seconds`, and `fault`:
`recreate_topic` deletes the topic after the increase and creates it again with 3
partitions, as a hasty operator might; `scaled_kept_to_baseline_cores` starts the
scaled job with the baseline's cores (its start task takes the cores from the fault
task's result), so it can never run two partitions' tasks at once.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from airflow.sdk import BaseOperator, Param, TaskGroup

from kafkalab.exercise import AFTER_FAULT, Report, exercise_dag, fault_task, lag_drains, lake_path
from kafkalab.operators.checks import PartitionSpreadOperator
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.faults import recreate_topic, scaled_kept_to_baseline_cores
from kafkalab.operators.generator import GeneratorRunOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.operators.scaling import (
    ScaledParallelismOperator,
    ScalingPhaseJobOperator,
    ScalingSpeedupOperator,
    SparkPhaseFactsOperator,
)
from kafkalab.operators.spark import StopStreamingJobOperator
from kafkalab.operators.topics import (
    AlterTopicPartitionsOperator,
    DescribeTopicOperator,
    EnsureTopicOperator,
)

BASELINE_PARTITIONS = 3
CORES_FAULT = "scaled_kept_to_baseline_cores"


class Phase(NamedTuple):
    """One phase's group, and the tasks the checks read."""

    group: TaskGroup
    start: BaseOperator  # end offsets before the backlog: the phase's first records
    end: BaseOperator  # end offsets after the drain: the phase's last records
    facts: BaseOperator  # Spark's facts of the phase's job
    lag: BaseOperator  # the drain: the group's lag down to zero
    path: str


@exercise_dag(
    dag_id="kafka_repartition_scaling",
    doc_md=__doc__,
    tags=["partitioning", "scaling"],
    execution_timeout=dt.timedelta(minutes=20),
    params={
        "partitions": Param(6, type="integer", minimum=2, description="partitions after"),
        "backlog": Param(
            30000, type="integer", minimum=100, description="records each phase drains"
        ),
        "batch_records": Param(
            10000, type="integer", minimum=10, description="records per micro-batch at most"
        ),
        "baseline_cores": Param(1, type="integer", minimum=1, description="baseline job"),
        "scaled_cores": Param(2, type="integer", minimum=2, description="scaled job"),
        "min_speedup": Param(
            0.5, type="number", minimum=0, description="scaled rates / baseline's, at least"
        ),
        "topic": Param("", type="string", description="empty: a copy named after the run"),
    },
    timeout_seconds=300,
    faults=["recreate_topic", CORES_FAULT],
)
def kafka_repartition_scaling() -> Report:
    run = "{{ run_id | slug }}"
    topic = "{{ params.topic or ('raw_financial_transactions_scaling_' ~ (run_id | slug)) }}"
    base = lake_path("exercises", "scaling", run)
    timeout = "{{ params.timeout_seconds }}"

    setup = EnsureTopicOperator(task_id="ensure_topic", topic=topic, partitions=BASELINE_PARTITIONS)

    def phase(name: str, cores: str, min_partitions: str | None, fault: bool = False) -> Phase:
        # The phase's generator run and Spark job handle; its Spark group is spark-<this>.
        in_run = f"scaling-{name}-{run}"
        spark_group = f"spark-{in_run}"
        with TaskGroup(name) as group:
            start = SnapshotEndOffsetsOperator(task_id="offsets_start", topics=[topic])
            # Backlog first, then drain: with the records waiting in Kafka before the job
            # starts, the consumer is the bottleneck, not the producer's rate.
            fill = GeneratorRunOperator(
                task_id="fill_backlog",
                run_id=in_run,
                target="kafka",
                topics={"financial": topic},
                financial_share=1.0,
                count="{{ params.backlog }}",
            )
            spark = ScalingPhaseJobOperator(
                task_id="start_spark",
                handle=in_run,
                topic=topic,
                output_path=f"{base}/{name}",
                stream="financial",
                starting_offsets=start.output,
                consumer_group=spark_group,
                trigger="processingTime=2 seconds",
                max_offsets_per_trigger="{{ params.batch_records }}",
                min_partitions=min_partitions,
                cores=cores,
            )
            drained = lag_drains(
                "lag_drains",
                group=spark_group,
                topic=topic,
                to=0,
                timeout=timeout,
                # Sampled often: the report plots the drain, and it lasts seconds.
                poll_interval=1.0,
                deferrable=False,
            )
            stop_spark = StopStreamingJobOperator(
                task_id="stop_spark", handle=in_run, trigger_rule="all_done"
            )
            facts = SparkPhaseFactsOperator(
                task_id="spark_facts", topic=topic, job=spark.output, start_offsets=start.output
            )
            end = SnapshotEndOffsetsOperator(task_id="offsets_end", topics=[topic])
            if fault:
                damage = fault_task(
                    CORES_FAULT,
                    scaled_kept_to_baseline_cores,
                    cores=("{{ params.baseline_cores }}"),
                )
                spark.trigger_rule = AFTER_FAULT
                start >> fill >> damage >> spark
            else:
                start >> fill >> spark
            spark >> drained >> stop_spark >> facts >> end
            # stop_spark runs whatever happened (all_done); without this edge a phase that
            # failed would still end in `end`, and everything after would run on it.
            drained >> facts
        return Phase(group, start, end, facts, drained, path=f"{base}/{name}")

    baseline = phase("baseline", "{{ params.baseline_cores }}", None)

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
            trigger_rule=AFTER_FAULT,
        )
        refuse = AlterTopicPartitionsOperator(
            task_id="decrease_is_refused",
            topic=topic,
            partitions=BASELINE_PARTITIONS,
            expect_refusal=True,
        )
        alter >> fault >> describe >> refuse

    # The cores fault, when it ran, decides the scaled job's cores: its result says so.
    scaled_cores = (
        "{{ (ti.xcom_pull(task_ids='scaled.fault_" + CORES_FAULT + "') or {}).get('cores')"
        " or params.scaled_cores }}"
    )
    scaled = phase("scaled", scaled_cores, "{{ params.partitions }}", fault=True)

    with TaskGroup("verify") as verify:
        spread = PartitionSpreadOperator(
            task_id="new_records_on_every_partition",
            topic=topic,
            before=scaled.start.output,
            after=scaled.end.output,
            expected_partitions="{{ params.partitions }}",
        )
        exactly_once = {
            name: DeltaReconcileOperator(
                task_id=f"{name}_exactly_once",
                path=tasks.path,
                topic=topic,
                from_offsets=tasks.start.output,
                to_offsets=tasks.end.output,
            )
            for name, tasks in (("baseline", baseline), ("scaled", scaled))
        }
        parallel = ScaledParallelismOperator(
            task_id="scaled_read_partitions_in_parallel",
            facts=scaled.facts.output,
            expected_partitions="{{ params.partitions }}",
        )
        comparison = ScalingSpeedupOperator(
            task_id="scaled_against_baseline",
            baseline=baseline.facts.output,
            scaled=scaled.facts.output,
            min_speedup="{{ params.min_speedup }}",
        )

    setup >> baseline.group >> increase >> scaled.group >> verify
    return Report(
        title="Kafka partitioning and scaling",
        figures={
            "comparison": comparison,
            "parallelism": parallel,
            "increase": alter,
            "describe": describe,
            "decrease": refuse,
            "spread": spread,
            "baseline_delta": exactly_once["baseline"],
            "scaled_delta": exactly_once["scaled"],
        },
        lag_series={"baseline (3 partitions)": baseline.lag, "scaled": scaled.lag},
        headline={
            "partitions before": ("increase.before", "partitions"),
            "partitions after": ("increase.after", "partitions"),
            "decrease refused by": ("decrease.refused_by", ""),
            "baseline cores": ("comparison.baseline.cores", "cores"),
            "scaled cores": ("comparison.scaled.cores", "cores"),
            "baseline steady rate": ("comparison.baseline.steady_rows_per_second", "rows/s"),
            "scaled steady rate": ("comparison.scaled.steady_rows_per_second", "rows/s"),
            "steady speedup": ("comparison.steady_speedup", "×"),
            "drain speedup": ("comparison.drain_speedup", "×"),
            "scaled phase: most tasks at once": ("parallelism.max_concurrent_tasks", "tasks"),
        },
    )


kafka_repartition_scaling()
