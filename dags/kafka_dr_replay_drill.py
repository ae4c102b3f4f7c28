"""
## Advanced use case 2: retention, pause and replay — the disaster-recovery drill

**Objective.** Show Kafka retaining messages so that a consumer can replay them from
any retained point: reprocessing, debugging and disaster recovery.

**Role in the platform.** A durable, replayable source of truth that shrinks the
recovery point objective (RPO) of everything downstream.

**Steps** (on `raw_financial_transactions`, as in the lab guide).
1. The generator runs; the Spark streaming job consumes and commits its progress to
   its consumer group. Once it has caught up, the current offsets are noted.
2. The Spark job is paused (frozen, as `docker compose pause spark`); the generator
   keeps producing. A sensor asserts that the Spark group's lag grows.
3. The generator stops; the end offsets are noted: the recovery point.
4. A replay job starts from `earliest` into `..._reprocessed`; a sensor asserts that
   its lag drains to zero, and measures how long that took: the recovery time.

**Verified.** The reprocessed Delta table holds every offset from the earliest
retained one to the noted end, exactly once.

**Report.** Records at risk when the consumer stopped (recovery point), the time the
replay took to drain (recovery time), lag over time for both jobs.

Scheduled nightly at 02:00 UTC, a standing DR drill, from the stack's first start:
the first run is the coming 02:00, never one already past. A night missed while the
stack was down runs once when it is back (no catch-up beyond that).

**Params.** `rate`, `min_lag_growth`, `timeout_seconds`, and `fault`:
`drop_delta_commit` deletes the newest commit of the reprocessed table before the
reconciliation.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, TaskGroup

from kafkalab.domain.topics import load_topic_specs
from kafkalab.exercise import (
    ComputedValue,
    Report,
    exercise_dag,
    fault_task,
    lag_drains,
    lake_path,
    live_stream,
    setup_group,
    total_lag,
)
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.faults import drop_latest_delta_commit
from kafkalab.operators.figures import RecoveryFiguresOperator
from kafkalab.operators.generator import StopGeneratorOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator, SnapshotGroupOffsetsOperator
from kafkalab.operators.spark import (
    PauseStreamingJobOperator,
    StartStreamingJobOperator,
    StopStreamingJobOperator,
)
from kafkalab.sensors.lag import ConsumerLagSensor

TOPIC = "raw_financial_transactions"
SPEC = next(spec for spec in load_topic_specs() if spec.name == TOPIC)


@exercise_dag(
    dag_id="kafka_dr_replay_drill",
    doc_md=__doc__,
    tags=["replay", "disaster-recovery"],
    # No start_date: with one in the past, Airflow makes the last 02:00 the first run,
    # which would fire the moment the DAG appears unpaused. run_immediately=0 keeps a
    # stack created at 02:30 from doing the same.
    schedule=CronTriggerTimetable("0 2 * * *", timezone="UTC", run_immediately=dt.timedelta(0)),
    execution_timeout=dt.timedelta(minutes=30),
    params={
        "rate": Param(200, type="number", minimum=1, description="generator events/s"),
        "min_lag_growth": Param(
            500,
            type="integer",
            minimum=1,
            description="records the paused consumer must fall behind by",
        ),
        "replay_batch_records": Param(
            200_000,
            type="integer",
            minimum=1,
            description="records per replay micro-batch (maxOffsetsPerTrigger)",
        ),
    },
    timeout_seconds=600,
    faults=["drop_delta_commit"],
)
def kafka_dr_replay_drill() -> Report:
    run = "{{ run_id | slug }}"
    generator_run = f"dr-{run}"
    live_group, replay_group = f"spark-dr-{run}", f"spark-dr-replay-{run}"
    live_handle, replay_handle = f"dr-live-{run}", f"dr-replay-{run}"
    base = lake_path("exercises", "dr", run)
    live_output = f"{base}/financial_data_delta"
    reprocessed = f"{base}/financial_data_delta_reprocessed"
    timeout = "{{ params.timeout_seconds }}"

    setup = setup_group({"ensure_topic": SPEC})

    with TaskGroup("live") as live:
        streaming = live_stream(
            offsets_of=[TOPIC],
            generator_run=generator_run,
            topic=TOPIC,
            handle=live_handle,
            output_path=live_output,
            group=live_group,
            caught_up_within=1000,
            timeout=timeout,
        )
        noted = SnapshotGroupOffsetsOperator(
            task_id="note_offsets", group=live_group, topics=[TOPIC]
        )
        streaming.caught_up >> noted

    with TaskGroup("outage") as outage:
        pause = PauseStreamingJobOperator(task_id="pause_spark", handle=live_handle)
        at_pause = SnapshotGroupOffsetsOperator(
            task_id="lag_at_pause", group=live_group, topics=[TOPIC]
        )
        grows = ConsumerLagSensor(
            task_id="lag_grows",
            group=live_group,
            topics=[TOPIC],
            mode="grows_by",
            threshold="{{ params.min_lag_growth }}",
            baseline_total=ComputedValue(total_lag, at_pause.output),
            timeout_seconds=timeout,
        )
        stop_generator = StopGeneratorOperator(task_id="stop_generator", run_id=generator_run)
        recovery_point = SnapshotEndOffsetsOperator(task_id="recovery_point", topics=[TOPIC])
        pause >> at_pause >> grows >> stop_generator >> recovery_point

    with TaskGroup("replay") as replay:
        replay_job = StartStreamingJobOperator(
            task_id="start_replay",
            handle=replay_handle,
            topic=TOPIC,
            output_path=reprocessed,
            starting_offsets="earliest",
            consumer_group=replay_group,
            trigger="processingTime=2 seconds",
            max_offsets_per_trigger="{{ params.replay_batch_records }}",
        )
        drained = lag_drains("lag_drains", group=replay_group, topic=TOPIC, to=0, timeout=timeout)
        stop_replay = StopStreamingJobOperator(
            task_id="stop_replay", handle=replay_handle, trigger_rule="all_done"
        )
        replay_job >> drained >> stop_replay

    with TaskGroup("verify") as verify:
        fault = fault_task("drop_delta_commit", drop_latest_delta_commit, path=reprocessed)
        reconciled = DeltaReconcileOperator(
            task_id="reprocessed_exactly_once",
            path=reprocessed,
            topic=TOPIC,
            to_offsets=recovery_point.output,
            quarantine_path=f"{reprocessed}_quarantine",
            # The replay reads the log to its end: records produced after the recovery
            # point are later records, not strays.
            later_records_allowed=True,
            # The fault skips itself unless selected: that skip must not skip the check,
            # while a failure upstream still stops it.
            trigger_rule="none_failed",
        )
        # stop_replay runs whatever happened (all_done), so the replay's own outcome is
        # wired in too: a replay that did not drain stops the fault and the check. The
        # fault waits for the stop as well, so no later commit can follow the dropped one.
        [drained, stop_replay] >> fault >> reconciled
        recovery = RecoveryFiguresOperator(
            task_id="recovery_figures",
            topic=TOPIC,
            at_pause=at_pause.output,
            recovery_point=recovery_point.output,
            drain=drained.output,
        )

    with TaskGroup("teardown") as teardown:
        StopStreamingJobOperator(
            task_id="stop_live_spark", handle=live_handle, trigger_rule="all_done"
        )
        StopGeneratorOperator(
            task_id="stop_generator_if_running", run_id=generator_run, trigger_rule="all_done"
        )

    setup.group >> live >> outage >> replay >> verify >> teardown
    return Report(
        title="Kafka retention, pause and replay: DR drill",
        figures={
            "recovery": recovery,
            "noted_offsets": noted,
            "lag_at_pause": at_pause,
            "lag_growth": grows,
            "recovery_point": recovery_point,
            "recovery_time": drained,
            "generator": stop_generator,
            "reprocessed": reconciled,
            "replay_job": stop_replay,
        },
        lag_series={"live consumer (paused)": grows, "replay consumer": drained},
    )


kafka_dr_replay_drill()
