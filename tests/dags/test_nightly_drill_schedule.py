"""The DR drill is a nightly schedule whose first run is the coming 02:00.

Unpaused from its creation on a user's stack, a drill whose first run were the 02:00
already past would fire the moment the stack first comes up.
"""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.models import DagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables import trigger
from airflow.timetables.base import TimeRestriction

UTC = dt.UTC


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 11, 26, 0, 17, tzinfo=UTC),
        # Just past 02:00: Airflow's default would still run the 02:00 one at once.
        dt.datetime(2026, 11, 26, 2, 30, tzinfo=UTC),
        dt.datetime(2026, 11, 26, 23, 59, tzinfo=UTC),
    ],
    ids=["night", "just-after-the-drill", "evening"],
)
def test_the_first_drill_is_the_next_0200(dagbag: DagBag, monkeypatch, now) -> None:
    dag = dagbag.get_dag("kafka_dr_replay_drill")
    monkeypatch.setattr(trigger, "utcnow", lambda: now)
    timetable = coerce_to_core_timetable(dag.timetable)
    # What the scheduler asks when the DAG is new: no run yet, bounded by start_date.
    first = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=dag.catchup),
    )
    next_0200 = (now + dt.timedelta(hours=22)).replace(hour=2, minute=0)
    assert first is not None and first.run_after == next_0200, (
        f"at {now:%H:%M} the first drill is at {first.run_after if first else None}, "
        f"expected the coming 02:00 ({next_0200})"
    )
