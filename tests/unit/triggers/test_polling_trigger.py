from __future__ import annotations

import asyncio
import importlib

import pytest

from kafkalab.triggers.delta import DeltaRowsTrigger
from kafkalab.triggers.inline import run_trigger_inline
from kafkalab.triggers.lag import ConsumerLagTrigger
from kafkalab.triggers.offsets import EndOffsetsAdvancedTrigger
from tests.support.triggers import CountingTrigger


async def all_events(trigger: CountingTrigger) -> list[dict]:
    return [event.payload async for event in trigger.run()]


def test_fires_exactly_one_event_once_the_condition_holds() -> None:
    trigger = CountingTrigger(met_after=3)
    events = asyncio.run(all_events(trigger))
    assert len(events) == 1
    assert events[0]["status"] == "met" and events[0]["polls"] == 3
    assert events[0]["waited_seconds"] >= 0


def test_a_timeout_fires_one_failure_event_with_the_last_figures() -> None:
    trigger = CountingTrigger(met_after=10**9, poll_interval=0.01, timeout=0.05)
    events = asyncio.run(all_events(trigger))
    assert len(events) == 1
    assert events[0]["status"] == "timeout"
    assert events[0]["waited_seconds"] >= 0.05
    assert events[0]["message"] == f"{trigger.polls} polls, not met"


def test_the_clients_are_closed_before_the_event_is_handed_out() -> None:
    # `airflow dags test` takes the first event and never calls cleanup().
    trigger = CountingTrigger(met_after=1)
    run = trigger.run()
    asyncio.run(anext(run))
    assert trigger.client is not None and trigger.client.closed
    asyncio.run(trigger.cleanup())  # the triggerer calls it again: nothing left to close


def test_cleanup_closes_the_clients_of_a_cancelled_run() -> None:
    trigger = CountingTrigger(met_after=10**9, timeout=60.0, poll_interval=0.01)

    async def cancelled_run() -> None:
        waiting = asyncio.ensure_future(all_events(trigger))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert trigger.client is not None and not trigger.client.closed
        await trigger.cleanup()

    asyncio.run(cancelled_run())
    assert trigger.client.closed


def test_running_inline_returns_the_event_and_cleans_up() -> None:
    trigger = CountingTrigger(met_after=2)
    assert run_trigger_inline(trigger)["polls"] == 2
    assert trigger.client is not None and trigger.client.closed


@pytest.mark.parametrize(
    "trigger",
    [
        ConsumerLagTrigger("kafka_default", "g", ["t"], "grows_by", 5, baseline_total=3),
        DeltaRowsTrigger("s3a://raw/x", 10, poll_interval=1.0, timeout=9.0),
        EndOffsetsAdvancedTrigger("kafka_default", {"t": {"0": 4}}, {"t": 7}),
        CountingTrigger(met_after=4, timeout=2.0),
    ],
    ids=lambda t: type(t).__name__,
)
def test_the_triggerer_rebuilds_a_trigger_from_its_serialization(trigger) -> None:
    path, kwargs = trigger.serialize()
    module, name = path.rsplit(".", 1)
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert type(rebuilt) is type(trigger)
    assert rebuilt.serialize() == (path, kwargs)


def test_serialization_keeps_the_arguments_and_the_class_path() -> None:
    assert DeltaRowsTrigger("s3a://raw/x", 10).serialize() == (
        "kafkalab.triggers.delta.DeltaRowsTrigger",
        {
            "path": "s3a://raw/x",
            "min_rows": 10,
            "object_store_conn_id": "lab_object_store",
            "poll_interval": 5.0,
            "timeout": 300.0,
        },
    )


class FailingFirst(CountingTrigger):
    """Raises ``error`` on its first poll, then counts as CountingTrigger does."""

    def __init__(self, error: Exception) -> None:
        super().__init__(met_after=2)
        self.error = error

    async def poll(self) -> bool:
        if self.polls == 0:
            self.polls += 1
            raise self.error
        return await super().poll()


def test_an_error_of_moving_leadership_is_polled_through() -> None:
    from confluent_kafka import KafkaError, KafkaException

    # What a ListOffsets request met in a run, while a partition's leader had changed.
    error = KafkaException(KafkaError(KafkaError.UNKNOWN_LEADER_EPOCH))
    [event] = asyncio.run(all_events(FailingFirst(error)))
    assert event["status"] == "met" and event["polls"] == 2


class AlwaysMoving(CountingTrigger):
    """Every poll meets NOT_COORDINATOR, as lag reads do while a group's coordinator moves."""

    async def poll(self) -> bool:
        from confluent_kafka import KafkaError, KafkaException

        self.polls += 1
        raise KafkaException(KafkaError(KafkaError.NOT_COORDINATOR))


def test_a_timeout_without_a_single_observation_names_the_error_that_prevented_it() -> None:
    # figures() describes the last observation; with none, it must not be asked to
    # (it raised AttributeError on the first look of a run on three brokers).
    for trigger in (
        AlwaysMoving(met_after=1, poll_interval=0.01, timeout=0.05),
        AlwaysMoving(met_after=1).once(),
    ):
        [event] = asyncio.run(all_events(trigger))
        assert event["status"] == "timeout"
        assert event["message"].startswith("no observation in ")
        assert "NOT_COORDINATOR" in event["message"]


def test_any_other_error_ends_the_trigger() -> None:
    from confluent_kafka import KafkaError, KafkaException

    for error in (
        KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)),
        ValueError("a bug"),
    ):
        with pytest.raises(type(error)):
            asyncio.run(all_events(FailingFirst(error)))
