"""Lag sampling measures over its window and asserts nothing, however large the lag."""

from __future__ import annotations

import itertools

import pytest

from kafkalab.domain.lag import LagSnapshot, PartitionLag
from kafkalab.operators import lag_sampling
from kafkalab.operators.lag_sampling import ConsumerLagSamplingOperator


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _Admin:
    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.lags = itertools.count(start=10**9, step=500)

    def __enter__(self) -> _Admin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def lag(self, group: str, topics: list[str]) -> LagSnapshot:
        partition = PartitionLag("t", 0, end_offset=next(self.lags), committed_offset=0)
        return LagSnapshot(group, taken_at=1000 + self.clock.now, partitions=[partition])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(lag_sampling, "time", clock)
    monkeypatch.setattr(lag_sampling.LabKafkaHook, "lab_admin", lambda self: _Admin(clock))
    monkeypatch.setattr(lag_sampling.LabKafkaHook, "__init__", lambda self, *a, **k: None)
    return clock


def test_samples_cover_the_window_and_keep_the_lag_sensor_shape(clock: _Clock) -> None:
    operator = ConsumerLagSamplingOperator(
        task_id="lag_under_load", group="g", topics="t", duration="5", poll_interval=2.0
    )
    result = operator.execute({})
    # 0, 2, 4 and the window's end: the last sample is taken at the end, not past it.
    assert [t for t, _ in result["samples"]] == [1000.0, 1002.0, 1004.0, 1005.0]
    assert [lag for _, lag in result["samples"]][-1] == 10**9 + 1500
    assert result["snapshot"]["total_lag"] == 10**9 + 1500
    assert result["waited_seconds"] == 5.0
