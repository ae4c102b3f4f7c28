from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from kafkalab.operators.failover import PartitionStateSensor
from kafkalab.sensors.base import DEFER_GRACE_SECONDS, DeferrableSensor
from kafkalab.sensors.delta import DeltaTableSensor
from kafkalab.sensors.lag import ConsumerLagSensor
from kafkalab.sensors.offsets import EndOffsetsAdvancedSensor
from tests.support.triggers import CountingTrigger

CONTEXT: Any = {}


class CountingSensor(DeferrableSensor):
    def __init__(self, *, met_after: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.met_after = met_after

    def trigger(self) -> CountingTrigger:
        return CountingTrigger(self.met_after, self.poll_interval, float(self.timeout_seconds))


def test_not_deferrable_runs_the_trigger_in_the_task_and_returns_its_event() -> None:
    event = CountingSensor(task_id="s", met_after=2, poll_interval=0, deferrable=False).execute(
        CONTEXT
    )
    assert event["status"] == "met" and event["polls"] == 2


def test_a_timed_out_trigger_fails_the_task_with_the_events_message() -> None:
    sensor = CountingSensor(
        task_id="s", met_after=10**9, poll_interval=0.01, timeout_seconds=0.03, deferrable=False
    )
    with pytest.raises(AirflowFailException, match=r"^\d+ polls, not met$"):
        sensor.execute(CONTEXT)


def test_deferrable_hands_the_trigger_over_with_room_for_its_timeout() -> None:
    sensor = CountingSensor(task_id="s", met_after=2, timeout_seconds="30")
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(CONTEXT)
    assert isinstance(deferred.value.trigger, CountingTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == dt.timedelta(seconds=30 + DEFER_GRACE_SECONDS)


def test_a_fact_that_already_holds_is_returned_without_deferring() -> None:
    # Deferred, a trigger that fires at once can resume the task before the executor
    # has seen it defer, which Airflow reports as a failure of the running task.
    event = CountingSensor(task_id="s", met_after=1, timeout_seconds="30").execute(CONTEXT)
    assert event["status"] == "met" and event["polls"] == 1


def test_the_sensors_keep_their_defaults() -> None:
    delta = DeltaTableSensor(task_id="d", path="s3a://raw/x")
    lag = ConsumerLagSensor(task_id="l", group="g", topics="t")
    offsets = EndOffsetsAdvancedSensor(task_id="o", before={}, min_advance={})
    assert (delta.poll_interval, delta.timeout_seconds, delta.deferrable) == (5.0, 300.0, True)
    assert (lag.poll_interval, offsets.poll_interval) == (2.0, 2.0)
    assert lag.trigger().topics == ["t"]


def test_the_delta_sensor_names_a_missing_table_and_a_short_one() -> None:
    sensor = DeltaTableSensor(task_id="d", path="s3a://raw/x", min_rows=10)
    timeout = {"status": "timeout", "waited_seconds": 30.2, "rows": None, "table_exists": False}
    with pytest.raises(AirflowFailException) as missing:
        sensor.execute_complete(CONTEXT, timeout)
    assert str(missing.value) == (
        "expected a Delta table with at least 10 rows at s3a://raw/x within 30s, but there "
        "is no Delta table there. Is the Spark job running (./lab logs) and writing to this path?"
    )
    short = {**timeout, "rows": 4, "table_exists": True}
    with pytest.raises(AirflowFailException, match="but it holds 4 rows"):
        sensor.execute_complete(CONTEXT, short)


def test_the_offsets_sensor_names_each_topic_that_fell_short() -> None:
    sensor = EndOffsetsAdvancedSensor(
        task_id="o",
        before={"topics": {"a": {0: 1}}},
        min_advance={"topics": {"a": {"acknowledged": 5}, "b": {"acknowledged": 3}}},
    )
    trigger = sensor.trigger()
    assert trigger.before == {"a": {"0": 1}} and trigger.min_advance == {"a": 5, "b": 3}
    event = {
        "status": "timeout",
        "waited_seconds": 12.0,
        "advanced": {"a": 2, "b": 3},
        "expected": {"a": 5, "b": 3},
    }
    with pytest.raises(AirflowFailException) as failure:
        sensor.execute_complete(CONTEXT, event)
    assert str(failure.value) == (
        "end offsets did not advance by the acknowledged counts within 12s: {'a': '2 of 5'}"
    )


def test_the_lag_sensor_fails_with_the_triggers_message_and_returns_a_met_event() -> None:
    sensor = ConsumerLagSensor(task_id="l", group="g", topics=["t"], baseline_total="None")
    assert sensor.trigger().baseline_total is None
    with pytest.raises(AirflowFailException, match=r"^total lag is 120$"):
        sensor.execute_complete(CONTEXT, {"status": "timeout", "message": "total lag is 120"})
    met = {"status": "met", "waited_seconds": 1.0, "snapshot": {"total_lag": 0}}
    assert sensor.execute_complete(CONTEXT, met) == met


def test_a_deferred_sensor_gets_a_second_try_for_airflows_resume_race() -> None:
    # The DAGs' default_args say retries=0; a deferred sensor overrides it because
    # Airflow 3.3 can fail its resumed attempt (apache/airflow#72716).
    with DAG("d", schedule=None, default_args={"retries": 0}):
        deferred = CountingSensor(task_id="deferred", met_after=2)
        inline = CountingSensor(task_id="inline", met_after=2, deferrable=False)
        told = CountingSensor(task_id="told", met_after=2, retries=3)
    assert (deferred.retries, deferred.retry_delay) == (1, dt.timedelta(seconds=5))
    assert inline.retries == 0
    assert told.retries == 3


def test_a_wrong_outcome_is_not_retried() -> None:
    sensor = CountingSensor(task_id="s", met_after=2)
    with pytest.raises(AirflowFailException):
        sensor.execute_complete(CONTEXT, {"status": "timeout", "message": "not met"})


def test_the_failover_sensors_time_the_election_in_the_task() -> None:
    sensor = PartitionStateSensor(
        task_id="p", topic="t", condition="leaders_moved", event={"broker": 1, "killed_at": 0}
    )
    assert (sensor.deferrable, sensor.retries) == (False, 0)
