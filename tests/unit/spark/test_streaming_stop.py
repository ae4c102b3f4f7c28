"""Stopping a streaming job waits for the batch in flight, and no longer than that."""

from __future__ import annotations

from kafkalab.spark.driver import stop_between_batches


class FakeQuery:
    """A query whose trigger stays active for ``busy_polls`` status calls; then a batch ends.

    ``always_busy`` mimics a job that is behind: the next trigger starts at once, so the
    trigger never looks idle, and only the progress shows the batch in flight finished.
    """

    def __init__(self, busy_polls: int, always_busy: bool = False) -> None:
        self.busy_polls = busy_polls
        self.always_busy = always_busy
        self.batch_id = 7
        self.stopped_at_batch: int | None = None
        self.isActive = True

    @property
    def status(self) -> dict:
        if self.busy_polls > 0:
            self.busy_polls -= 1
            if self.busy_polls == 0:
                self.batch_id += 1  # the batch in flight finished
        return {"isTriggerActive": self.always_busy or self.busy_polls > 0}

    @property
    def lastProgress(self) -> dict:
        return {"batchId": self.batch_id}

    def stop(self) -> None:
        self.stopped_at_batch = self.batch_id
        self.isActive = False


def test_an_idle_query_is_stopped_at_once() -> None:
    query = FakeQuery(busy_polls=0)
    assert stop_between_batches(query, timeout=5, poll_seconds=0) is True
    assert query.stopped_at_batch == 7


def test_the_batch_in_flight_finishes_before_the_stop() -> None:
    query = FakeQuery(busy_polls=3)
    assert stop_between_batches(query, timeout=5, poll_seconds=0) is True
    assert query.stopped_at_batch == 8


def test_a_query_that_is_always_behind_stops_after_its_batch_not_at_the_timeout() -> None:
    query = FakeQuery(busy_polls=3, always_busy=True)
    assert stop_between_batches(query, timeout=5, poll_seconds=0) is True
    assert query.stopped_at_batch == 8


def test_a_batch_that_never_ends_is_stopped_at_the_timeout() -> None:
    query = FakeQuery(busy_polls=10**9)
    assert stop_between_batches(query, timeout=0.05, poll_seconds=0.01) is False
    assert query.stopped_at_batch == 7
