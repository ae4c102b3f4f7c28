"""The one way the lab's sensors wait: defer to the triggerer, or run the trigger inline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.triggers.base import PollingTrigger
from kafkalab.triggers.inline import run_trigger_inline

# Room for the triggerer to start the trigger and deliver its timeout event before
# Airflow's own defer timeout fails the task without the trigger's message.
DEFER_GRACE_SECONDS = 120
# Airflow 3.3's scheduler can fail a deferred task whose trigger fires within seconds:
# the executor's late report that the deferring attempt exited meets the resumed attempt
# already running, and is taken for its death (apache/airflow#72716; seen here with a
# lag that grew 2 s after the sensor deferred). A second try observes the fact again.
# A wrong outcome still fails at once: AirflowFailException is never retried.
RESUME_RACE_RETRIES = 1
RESUME_RACE_RETRY_DELAY = dt.timedelta(seconds=5)


class DeferrableSensor(BaseOperator):
    """Waits for the fact its ``trigger()`` polls; fails with ``failure_message(event)``.

    ``deferrable=False`` runs the trigger's loop in the task (tests, or an Airflow
    without a triggerer); either way the task returns the trigger's event.
    """

    ui_color = "#e8f4f8"

    def __init__(
        self,
        *,
        poll_interval: float = 2.0,
        timeout_seconds: float | str = 300.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poll_interval = poll_interval
        self.timeout_seconds = timeout_seconds
        self.deferrable = deferrable
        if deferrable and self.retries < RESUME_RACE_RETRIES:
            self.retries = RESUME_RACE_RETRIES
            self.retry_delay = RESUME_RACE_RETRY_DELAY

    def trigger(self) -> PollingTrigger:
        """The trigger to wait on, from the rendered template fields."""
        raise NotImplementedError

    def failure_message(self, event: dict[str, Any]) -> str:
        """What the task fails with when the trigger timed out."""
        return event["message"]

    def execute(self, context: Context) -> dict[str, Any]:
        trigger = self.trigger()
        if not self.deferrable:
            return self.execute_complete(context, run_trigger_inline(trigger))
        # A fact that already holds needs no triggerer. Deferred, its trigger fires at
        # once, and the resumed task can start before the executor has reported the
        # deferring one finished: Airflow takes that late report for a failure of the
        # running task (seen on a busy two-core machine).
        first_look = run_trigger_inline(trigger.once())
        if first_look["status"] == "met":
            return self.execute_complete(context, first_look)
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=dt.timedelta(seconds=trigger.timeout + DEFER_GRACE_SECONDS),
        )
        return {}  # not reached: defer raises

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        if event["status"] != "met":
            # A wrong outcome is not transient: no retry.
            raise AirflowFailException(self.failure_message(event))
        return event
