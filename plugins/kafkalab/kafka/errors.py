"""Which Kafka errors mean "ask again": leadership or a group's coordinator is moving."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

# What a request meets while leaders or coordinators move (a broker lost or back, a
# partition reassigned), until the client's metadata catches up. librdkafka does not
# always mark an error from a broker's answer as retriable.
LEADERSHIP_MOVING = frozenset(
    {
        KafkaError.UNKNOWN_LEADER_EPOCH,
        KafkaError.FENCED_LEADER_EPOCH,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.REPLICA_NOT_AVAILABLE,
        # A new leader answers ListOffsets only once its high watermark caught up.
        KafkaError.OFFSET_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
    }
)


def transient_error(exc: BaseException) -> KafkaError | None:
    """The KafkaError of ``exc`` if asking again may succeed, else None."""
    if not isinstance(exc, KafkaException):
        return None
    error = exc.args[0] if exc.args else None
    if isinstance(error, KafkaError) and (error.retriable() or error.code() in LEADERSHIP_MOVING):
        return error
    return None
