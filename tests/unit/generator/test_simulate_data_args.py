"""simulate_data.py's flags, and the config they describe: one spelling both ways."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from kafkalab.generator.config import GeneratorConfig


@pytest.fixture(autouse=True)
def no_delay_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DELAY_SECONDS", raising=False)


def test_delay_seconds_from_the_environment_sets_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAY_SECONDS", "0.01")
    config = GeneratorConfig.from_args([])
    assert config.rate == pytest.approx(100.0)


def test_bounds_and_batches_are_passed_through() -> None:
    config = GeneratorConfig.from_args(["--count", "50", "--batch-size", "10", "--run-id", "x"])
    assert (config.count, config.batch_size, config.run_id) == (50, 10, "x")


def test_a_zero_batch_size_is_refused() -> None:
    config = GeneratorConfig.from_args(["--batch-size", "0"])
    with pytest.raises(ValueError, match="batch_size"):
        config.validate()


def test_a_topic_for_an_unknown_stream_is_refused() -> None:
    config = GeneratorConfig(target="kafka", topics={"payments": "t"})
    with pytest.raises(ValueError, match="payments"):
        config.validate()


def test_without_a_run_id_each_run_gets_its_own() -> None:
    assert GeneratorConfig.from_args([]).run_id != GeneratorConfig.from_args([]).run_id


def test_the_url_loses_its_trailing_slash() -> None:
    assert GeneratorConfig.from_args(["--url", "http://h:1/"]).ingestor_url == "http://h:1"


@pytest.mark.parametrize(
    "config",
    [
        GeneratorConfig(run_id="defaults"),
        GeneratorConfig(
            target="kafka",
            ingestor_url="http://ingestor:8000",
            bootstrap="b1:9092,b2:9092",
            seed=7,
            run_id="every-field",
            rate=123.5,
            count=1000,
            duration=2.5,
            financial_share=1.0,
            batch_size=20,
            concurrency=4,
            start_time=dt.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=dt.UTC),
            give_up_after=12.0,
            status_file=Path("/tmp/run/status.json"),
            progress_every=2.0,
            topics={"financial": "scaling_t1", "insurance": "claims_t2"},
        ),
    ],
    ids=["defaults", "every-field"],
)
def test_to_args_and_from_args_round_trip(config: GeneratorConfig) -> None:
    assert GeneratorConfig.from_args(config.to_args()) == config


def test_to_args_covers_every_field() -> None:
    # A field without a flag would be lost on the way to a background process.
    config = GeneratorConfig(
        rate=1.0, count=1, duration=1.0, status_file=Path("s"), topics={"financial": "t"}
    )
    config = dataclasses.replace(config, start_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    flags = {
        arg.removeprefix("--").replace("-", "_") for arg in config.to_args() if arg[:2] == "--"
    }
    flags = {"ingestor_url" if f == "url" else f for f in flags}
    flags = {"topics" if f.endswith("_topic") else f for f in flags}
    assert flags == {f.name for f in dataclasses.fields(GeneratorConfig)}
