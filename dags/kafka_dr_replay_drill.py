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
   keeps producing. A sensor asserts that the Spark group's lag grows, and a check
   that the pause held: neither the group's committed offsets nor the job's Delta
   table moved since the pause (a job that keeps writing but fails to commit also
   grows lag).
3. The generator stops; the end offsets are noted: the recovery point.
4. The earliest retained offsets are noted (the range the replay must recover, pinned
   before it starts); a replay job starts from `earliest` into `..._reprocessed`; a
   sensor waits for its group to reach the recovery point.

**Verified.**
- The reprocessed Delta table holds every offset from the pinned earliest offsets to
  the recovery point, exactly once (a quarantined record counts as consumed here).
- *Recovery objectives*, against the generator's own record of what it saw
  acknowledged:
  - **RPO** = acknowledged events of the run missing from the recovered table; a
    record of the run the replay quarantined counts as missing. Must be 0.
  - **Window at risk** = records after the paused group's committed offsets up to the
    recovery point, and the seconds from the pause to the recovery point; at most
    `max_window_at_risk_seconds`.
  - **RTO** = from the replay's start request (the JVM's start-up included) to the
    first lag snapshot with its group at the recovery point; at most
    `max_rto_seconds`.

**Report.** The figures above with their definitions, the replay's start-up time, its
rate in rows/s (the steady state, batches after the first, as `bench/replay.py`
measures it: it needs a backlog of more than one `replay_batch_records` batch; and
over all batches), lag over time for both jobs.

Scheduled nightly at 02:00 UTC, a standing DR drill, from the stack's first start:
the first run is the coming 02:00, never one already past. A night missed while the
stack was down runs once when it is back (no catch-up beyond that).

**Params.** `rate`, `min_lag_growth`, `replay_batch_records`, `max_rto_seconds`,
`max_window_at_risk_seconds`, `timeout_seconds`, and `fault`: `pause_not_held` lets
the paused job run again until it commits (a pause that does not pause);
`replay_wrong_schema` starts the replay with the claims schema, so it quarantines every
record; `drop_delta_commit` deletes the newest commit of the reprocessed table before
the checks.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, TaskGroup

from kafkalab.domain.topics import load_topic_specs
from kafkalab.exercise import (
    AFTER_FAULT,
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
from kafkalab.operators.faults import (
    drop_latest_delta_commit,
    replay_with_the_wrong_schema,
    resume_paused_job,
)
from kafkalab.operators.generator import StopGeneratorOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator, SnapshotGroupOffsetsOperator
from kafkalab.operators.recovery import (
    JobProgressOperator,
    PauseHeldOperator,
    RecoveryObjectivesOperator,
)
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
        "max_rto_seconds": Param(
            600,
            type="number",
            minimum=1,
            description="recovery time objective: replay start request to recovery point",
        ),
        "max_window_at_risk_seconds": Param(
            900,
            type="number",
            minimum=1,
            description="objective for the window at risk: pause to recovery point",
        ),
    },
    timeout_seconds=600,
    faults=["pause_not_held", "replay_wrong_schema", "drop_delta_commit"],
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
        at_pause = JobProgressOperator(
            task_id="progress_at_pause", group=live_group, topic=TOPIC, path=live_output
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
        not_held = fault_task(
            "pause_not_held", resume_paused_job, handle=live_handle, group=live_group, topic=TOPIC
        )
        # Lag growth alone does not prove the pause: a job that keeps writing but fails
        # to commit its offsets grows lag too.
        held = PauseHeldOperator(
            task_id="pause_held",
            group=live_group,
            topic=TOPIC,
            path=live_output,
            at_pause=at_pause.output,
            trigger_rule=AFTER_FAULT,
        )
        stop_generator = StopGeneratorOperator(task_id="stop_generator", run_id=generator_run)
        recovery_point = SnapshotEndOffsetsOperator(task_id="recovery_point", topics=[TOPIC])
        pause >> at_pause >> grows >> not_held >> held >> stop_generator >> recovery_point

    with TaskGroup("replay") as replay:
        # What the replay must recover, pinned before it starts: the range cannot shrink
        # to whatever Kafka still retains when the check runs.
        replay_from = SnapshotEndOffsetsOperator(
            task_id="replay_range_start", topics=[TOPIC], which="earliest"
        )
        wrong_schema = fault_task("replay_wrong_schema", replay_with_the_wrong_schema)
        replay_job = StartStreamingJobOperator(
            task_id="start_replay",
            handle=replay_handle,
            topic=TOPIC,
            output_path=reprocessed,
            stream="{{ 'insurance' if params.fault == 'replay_wrong_schema' else 'financial' }}",
            starting_offsets="earliest",
            consumer_group=replay_group,
            trigger="processingTime=2 seconds",
            max_offsets_per_trigger="{{ params.replay_batch_records }}",
            trigger_rule=AFTER_FAULT,
        )
        drained = lag_drains("lag_drains", group=replay_group, topic=TOPIC, to=0, timeout=timeout)
        stop_replay = StopStreamingJobOperator(
            task_id="stop_replay", handle=replay_handle, trigger_rule="all_done"
        )
        replay_from >> wrong_schema >> replay_job >> drained >> stop_replay

    with TaskGroup("verify") as verify:
        fault = fault_task("drop_delta_commit", drop_latest_delta_commit, path=reprocessed)
        reconciled = DeltaReconcileOperator(
            task_id="reprocessed_exactly_once",
            path=reprocessed,
            topic=TOPIC,
            from_offsets=replay_from.output,
            to_offsets=recovery_point.output,
            quarantine_path=f"{reprocessed}_quarantine",
            # The replay reads the log to its end: records produced after the recovery
            # point are later records, not strays.
            later_records_allowed=True,
            trigger_rule=AFTER_FAULT,
        )
        # stop_replay runs whatever happened (all_done), so the replay's own outcome is
        # wired in too: a replay that did not drain stops the fault and the check. The
        # fault waits for the stop as well, so no later commit can follow the dropped one.
        recovery = RecoveryObjectivesOperator(
            task_id="recovery_objectives",
            topic=TOPIC,
            path=reprocessed,
            quarantine_path=f"{reprocessed}_quarantine",
            generator_summary=stop_generator.output,
            at_pause=at_pause.output,
            recovery_point=recovery_point.output,
            replay_start=replay_job.output,
            drained=drained.output,
            max_rto_seconds="{{ params.max_rto_seconds }}",
            max_window_at_risk_seconds="{{ params.max_window_at_risk_seconds }}",
            trigger_rule=AFTER_FAULT,
        )
        [drained, stop_replay] >> fault >> [reconciled, recovery]

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
            "pause": held,
            "noted_offsets": noted,
            "progress_at_pause": at_pause,
            "lag_growth": grows,
            "recovery_point": recovery_point,
            "recovery_time": drained,
            "generator": stop_generator,
            "reprocessed": reconciled,
            "replay_job": stop_replay,
        },
        lag_series={"live consumer (paused)": grows, "replay consumer": drained},
        headline={
            "events acknowledged": ("recovery.events.acknowledged", "events"),
            "RPO: acknowledged events lost": ("recovery.rpo_events_lost", "events"),
            "window at risk": ("recovery.window_at_risk_records", "records"),
            "window at risk, in time": ("recovery.window_at_risk_seconds", "s"),
            "RTO": ("recovery.rto_seconds", "s"),
            "replay start-up (in RTO)": ("recovery.replay_startup_seconds", "s"),
            # bench/replay.py's figures: steady state needs more than one replay batch.
            "replay rate, steady state": ("replay_job.throughput.steady_rows_per_s", "rows/s"),
            "replay rate, all batches": ("replay_job.throughput.total_rows_per_s", "rows/s"),
            "pause held for": ("pause.paused_seconds", "s"),
            "records replayed": ("reprocessed.present", "records"),
        },
    )


kafka_dr_replay_drill()
