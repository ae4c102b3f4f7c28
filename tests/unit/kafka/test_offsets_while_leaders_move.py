"""End offsets are asked again while leadership moves, and only then."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException

from tests.support.admin_stub import admin_over


class MovingLeaders:
    """Answers ListOffsets with ``errors`` first (one per request), then with offsets."""

    def __init__(self, *errors: int) -> None:
        self.errors = list(errors)
        self.requests = 0

    def list_topics(self, topic=None, timeout=None):
        return SimpleNamespace(
            topics={"t": SimpleNamespace(error=None, partitions={0: None, 1: None})}
        )

    def list_offsets(self, request, request_timeout):
        self.requests += 1
        answers = {}
        for tp in request:
            future: Future = Future()
            if self.errors:
                future.set_exception(KafkaException(KafkaError(self.errors[0])))
            else:
                future.set_result(SimpleNamespace(offset=10 + tp.partition))
            answers[tp] = future
        if self.errors:
            self.errors.pop(0)
        return answers


def test_offsets_are_asked_again_while_a_new_leader_is_not_known_yet() -> None:
    broker = MovingLeaders(
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.UNKNOWN_LEADER_EPOCH,
        # Seen in the drill right after the election: "Leader high watermark is not
        # caught up".
        KafkaError.OFFSET_NOT_AVAILABLE,
    )
    assert admin_over(broker).end_offsets("t") == {0: 10, 1: 11}
    assert broker.requests == 4


def test_any_other_error_is_raised_at_once() -> None:
    broker = MovingLeaders(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        admin_over(broker).end_offsets("t")
    assert broker.requests == 1


def test_leadership_that_never_settles_raises_after_the_timeout() -> None:
    broker = MovingLeaders(*[KafkaError.NOT_LEADER_FOR_PARTITION] * 100)
    with pytest.raises(KafkaException, match="NOT_LEADER"):
        admin_over(broker, timeout=1.0).end_offsets("t")
