"""Run a trigger's polling loop in the task itself (``deferrable=False``)."""

from __future__ import annotations

import asyncio
from typing import Any

from airflow.triggers.base import BaseTrigger


def run_trigger_inline(trigger: BaseTrigger) -> dict[str, Any]:
    """The first event's payload: the same loop the triggerer would run, in this process."""

    async def first_event() -> dict[str, Any]:
        try:
            async for event in trigger.run():
                return event.payload
            raise RuntimeError(f"{type(trigger).__name__} ended without an event")
        finally:
            # As the triggerer does once a trigger is done: release what it holds.
            await trigger.cleanup()

    return asyncio.run(first_event())
