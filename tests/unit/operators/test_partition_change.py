from __future__ import annotations

from kafkalab.operators.topics import increase_problem, refusal_problem

KAFKA_REFUSAL = (
    "INVALID_PARTITIONS",
    "The topic t currently has 6 partition(s); 3 would not be an increase.",
)


def test_an_increase_is_fewer_partitions_before_than_after() -> None:
    assert increase_problem("t", before=3, after=6, target=6) is None


def test_a_topic_already_at_the_target_is_not_an_increase() -> None:
    problem = increase_problem("t", before=6, after=6, target=6)
    assert problem is not None
    assert problem.startswith("topic t already had 6 partitions before the change")
    assert "nothing was increased" in problem
    assert "already had 8 partitions" in (increase_problem("t", 8, 8, 6) or "")


def test_an_increase_that_did_not_reach_the_target_is_named() -> None:
    problem = increase_problem("t", before=3, after=3, target=6)
    assert problem is not None and "went from 3 to 3 partitions, expected 6" in problem


def test_kafka_refusing_a_real_decrease_is_the_pass() -> None:
    assert refusal_problem("t", before=6, requested=3, after=6, error=KAFKA_REFUSAL) is None


def test_an_accepted_decrease_fails() -> None:
    problem = refusal_problem("t", before=6, requested=3, after=3, error=None)
    assert problem == (
        "Kafka accepted 3 partitions for t (it had 6, now 3); expected it to refuse a decrease"
    )


def test_a_refusal_for_another_reason_is_not_the_partition_rule() -> None:
    problem = refusal_problem("t", 6, 3, 6, error=("TOPIC_AUTHORIZATION_FAILED", "Not authorized"))
    assert problem is not None
    assert "with TOPIC_AUTHORIZATION_FAILED (Not authorized), not INVALID_PARTITIONS" in problem


def test_asking_for_the_same_count_is_not_a_decrease() -> None:
    # Kafka refuses an equal count too ("already has 3 partition(s)"): not a decrease.
    problem = refusal_problem("t", before=3, requested=3, after=3, error=KAFKA_REFUSAL)
    assert problem is not None and "is not a decrease" in problem


def test_a_refusal_that_still_moved_the_count_fails() -> None:
    problem = refusal_problem("t", before=6, requested=3, after=3, error=KAFKA_REFUSAL)
    assert problem is not None and "yet the topic went from 6 to 3 partitions" in problem
