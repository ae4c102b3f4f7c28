from __future__ import annotations

import datetime as dt

import pytest

from kafkalab.generator.events import EventFactory

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def events(seed: int, n: int = 200, run_id: str = "run1") -> list[str]:
    factory = EventFactory(seed=seed, run_id=run_id, start_time=START)
    return [factory.next().event.model_dump_json() for _ in range(n)]


def test_same_seed_same_events() -> None:
    assert events(7) == events(7)


def test_another_seed_other_events() -> None:
    assert events(7) != events(8)


def test_ids_are_unique_and_sequenced_per_stream() -> None:
    factory = EventFactory(seed=1, run_id="abc", start_time=START, financial_share=0.3)
    generated = [factory.next() for _ in range(1000)]
    ids = [g.event_id for g in generated]
    assert len(set(ids)) == 1000
    for stream in ("financial", "insurance"):
        sequences = [g.sequence for g in generated if g.stream.name == stream]
        assert sequences == list(range(len(sequences)))
    assert ids[0].endswith("-abc-000000000")


def test_the_mix_follows_financial_share() -> None:
    factory = EventFactory(seed=3, run_id="r", start_time=START, financial_share=0.8)
    financial = sum(factory.next().stream.name == "financial" for _ in range(5000))
    assert 3800 < financial < 4200


def test_event_times_advance() -> None:
    factory = EventFactory(seed=3, run_id="r", start_time=START)
    times = [factory.next().event.timestamp for _ in range(100)]
    assert times == sorted(times) and times[0] >= START


def test_an_impossible_share_is_refused() -> None:
    with pytest.raises(ValueError, match="financial_share"):
        EventFactory(seed=1, run_id="r", start_time=START, financial_share=1.5)


def test_generated_events_satisfy_the_schema() -> None:
    factory = EventFactory(seed=5, run_id="r", start_time=START)
    for _ in range(2000):
        generated = factory.next()
        payload = generated.event.model_dump_json()
        assert generated.stream.model.model_validate_json(payload) == generated.event


def test_sent_json_carries_a_producer_timestamp_and_still_validates() -> None:
    factory = EventFactory(seed=5, run_id="r", start_time=START)
    for g in [factory.next() for _ in range(20)]:
        event = g.stream.model.model_validate_json(g.to_json(START))
        assert event.produced_at is not None and event.produced_at.tzinfo is not None
        assert event.model_copy(update={"produced_at": None}) == g.event
