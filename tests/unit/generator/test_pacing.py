"""The run's schedule: events are due at start + n / rate; a run ends on count or duration."""

from __future__ import annotations

import pytest

from kafkalab.generator.pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_events_are_due_on_a_fixed_schedule_from_the_start() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=10.0, clock=clock)
    assert pacer.delay_before(0) == 0.0
    assert pacer.delay_before(5) == pytest.approx(0.5)
    clock.now += 0.2
    assert pacer.delay_before(5) == pytest.approx(0.3)


def test_a_late_event_is_sent_at_once_to_catch_up() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=10.0, clock=clock)
    clock.now += 3.0
    assert pacer.delay_before(5) == 0.0


def test_without_a_rate_nothing_waits() -> None:
    assert Pacer(rate=None, clock=FakeClock()).delay_before(10_000) == 0.0


def test_a_run_ends_at_its_count() -> None:
    pacer = Pacer(rate=None, count=3, clock=FakeClock())
    assert [pacer.should_continue(n) for n in range(5)] == [True, True, True, False, False]


def test_a_run_ends_at_its_duration_counted_from_the_restart() -> None:
    clock = FakeClock()
    pacer = Pacer(rate=None, duration=2.0, clock=clock)
    clock.now += 5.0
    pacer.restart()
    assert pacer.should_continue(0)
    clock.now += 2.0
    assert not pacer.should_continue(0)


def test_a_stop_request_ends_the_run() -> None:
    pacer = Pacer(rate=None, clock=FakeClock())
    pacer.stop_requested.set()
    assert not pacer.should_continue(0)
