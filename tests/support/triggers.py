"""A polling trigger with no system behind it, for testing the trigger and sensor bases."""

from __future__ import annotations

from typing import Any

from kafkalab.triggers.base import PollingTrigger


class FakeClient:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class CountingTrigger(PollingTrigger):
    """Its condition holds from the ``met_after``-th poll on."""

    def __init__(self, met_after: int, poll_interval: float = 0.0, timeout: float = 5.0) -> None:
        super().__init__(poll_interval=poll_interval, timeout=timeout)
        self.met_after = met_after
        self.polls = 0
        self.client: FakeClient | None = None

    async def connect(self) -> None:
        self.client = await self.hold(FakeClient)

    async def poll(self) -> bool:
        self.polls += 1
        return self.polls >= self.met_after

    def figures(self, met: bool, waited: float) -> dict[str, Any]:
        return {"polls": self.polls, "message": None if met else f"{self.polls} polls, not met"}
