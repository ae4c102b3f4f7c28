"""Which side a benchmark phase says is the limit."""

from __future__ import annotations

from kafkalab.domain.saturation import cores_used, saturated_sides


def test_cores_used_is_cpu_seconds_over_wall_seconds() -> None:
    assert cores_used(3.0, 2.0) == 1.5
    assert cores_used(1.0, 3.0) == 0.33
    assert cores_used(1.0, 0.0) == 0.0


def test_a_process_whose_python_threads_use_a_core_is_saturated() -> None:
    sides = saturated_sides({"generator": 0.95, "ingestor": 0.6}, 1.6, machine_cores=4)
    assert sides == ["generator"]


def test_native_threads_do_not_count_against_the_python_limit_but_the_machine_can_fill() -> None:
    # The ingestor's process uses 1.3 cores, but only 0.7 of them in Python threads.
    assert saturated_sides({"generator": 0.5, "ingestor": 0.7}, 1.3, machine_cores=4) == []
    assert saturated_sides({"generator": 0.5, "ingestor": 0.7}, 1.9, machine_cores=2) == ["machine"]


def test_both_sides_and_the_machine_can_be_at_their_limit() -> None:
    sides = saturated_sides({"generator": 0.9, "ingestor": 0.99}, 2.0, machine_cores=2)
    assert sides == ["generator", "ingestor", "machine"]
