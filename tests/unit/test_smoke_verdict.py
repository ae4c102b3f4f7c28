from __future__ import annotations

from kafkalab.smoke import smoke_verdict


def test_equal_counts_pass() -> None:
    assert smoke_verdict(10, 10, 10)[0]


def test_a_lost_row_fails_and_says_what_was_expected() -> None:
    passed, message = smoke_verdict(10, 10, 9)
    assert not passed
    assert "expected 10" in message and "delta-rs reads 9 rows" in message
