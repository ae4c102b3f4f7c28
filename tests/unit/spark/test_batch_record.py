from __future__ import annotations

from kafkalab.spark.driver import RunBatches, batch_metadata, last_batch_in


def test_the_newest_append_of_the_app_gives_its_last_batch() -> None:
    newest_first = [
        batch_metadata("other", 9),
        None,
        "not json",
        '["a list"]',
        batch_metadata("app", 4),
        batch_metadata("app", 3),
    ]
    assert last_batch_in(newest_first, "app") == 4
    assert last_batch_in(newest_first, "other") == 9


def test_a_table_without_the_apps_record_has_no_last_batch() -> None:
    assert last_batch_in([batch_metadata("other", 1), None], "app") is None
    assert last_batch_in([], "app") is None


def test_only_the_first_batch_of_a_run_may_have_been_written() -> None:
    run = RunBatches()
    assert [run.may_be_written(b) for b in (7, 8, 9)] == [True, False, False]
