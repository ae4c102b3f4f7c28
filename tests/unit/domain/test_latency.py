"""Percentiles and the bounded sample of request latencies the generator reports."""

from __future__ import annotations

import random

import pytest

from kafkalab.domain.latency import LatencyReservoir, percentile


def test_percentile_is_the_nearest_rank_of_the_sorted_values() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.99) == 5.0
    assert percentile(values, 1.0) == 5.0
    assert percentile([7.0], 0.99) == 7.0


def test_a_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_below_its_size_the_reservoir_keeps_every_latency_and_exact_percentiles() -> None:
    reservoir = LatencyReservoir(size=1000)
    for ms in range(1, 101):
        reservoir.record(ms / 1000)
    assert reservoir.figures() == {"requests": 100, "p50_ms": 51.0, "p99_ms": 99.0, "max_ms": 100.0}


def test_no_request_no_figures() -> None:
    assert LatencyReservoir().figures() == {
        "requests": 0,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }


def test_the_sample_stays_bounded_while_count_and_maximum_stay_exact() -> None:
    reservoir = LatencyReservoir(size=100)
    for n in range(10_000):
        reservoir.record(n / 1000)
    reservoir.record(0.0)
    assert len(reservoir.samples) == 100
    assert reservoir.count == 10_001
    assert reservoir.figures()["max_ms"] == 9999.0


def test_the_sample_is_uniform_so_its_percentiles_estimate_the_whole_runs() -> None:
    # A slow start (the first 10% ten times slower) must not dominate the sample, as it
    # would if the reservoir kept the first latencies it saw.
    reservoir = LatencyReservoir(size=2000, rng=random.Random(7))
    latencies = [0.1 if n < 10_000 else 0.01 for n in range(100_000)]
    for seconds in latencies:
        reservoir.record(seconds)
    slow_share = sum(1 for s in reservoir.samples if s == 0.1) / len(reservoir.samples)
    assert slow_share == pytest.approx(0.10, abs=0.03)
    assert reservoir.figures()["p50_ms"] == 10.0
    assert reservoir.figures()["p99_ms"] == 100.0


def test_the_same_latencies_keep_the_same_sample() -> None:
    def sample() -> list[float]:
        reservoir = LatencyReservoir(size=10)
        for n in range(1000):
            reservoir.record(n / 1000)
        return reservoir.samples

    assert sample() == sample()


def test_a_reservoir_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LatencyReservoir(size=0)
