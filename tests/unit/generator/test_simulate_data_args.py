from __future__ import annotations

import pytest

from kafkalab.generator.cli import build_parser, config_from_args


def test_delay_seconds_from_the_environment_sets_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAY_SECONDS", "0.01")
    config = config_from_args(build_parser().parse_args([]))
    assert config.rate == pytest.approx(100.0)


def test_bounds_and_batches_are_passed_through() -> None:
    args = build_parser().parse_args(["--count", "50", "--batch-size", "10", "--run-id", "x"])
    config = config_from_args(args)
    assert (config.count, config.batch_size, config.run_id) == (50, 10, "x")


def test_a_zero_batch_size_is_refused() -> None:
    config = config_from_args(build_parser().parse_args(["--batch-size", "0"]))
    with pytest.raises(ValueError, match="batch_size"):
        config.validate()
