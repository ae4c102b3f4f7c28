"""When the next event is due, and when a run is over (count, duration or a stop request)."""

from __future__ import annotations

import asyncio
import time

# Without a rate the loop never waits; it still yields this often, so the transports'
# tasks and the progress reports get their turn.
YIELD_EVERY = 256


class Pacer:
    def __init__(
        self,
        rate: float | None,
        count: int | None = None,
        duration: float | None = None,
        clock=time.monotonic,
    ) -> None:
        self.rate = rate
        self.count = count
        self.duration = duration
        self.clock = clock
        self.started = clock()
        self.stop_requested = asyncio.Event()

    def restart(self) -> None:
        self.started = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def should_continue(self, produced: int) -> bool:
        if self.stop_requested.is_set():
            return False
        if self.count is not None and produced >= self.count:
            return False
        return not (self.duration is not None and self.elapsed() >= self.duration)

    def delay_before(self, produced: int) -> float:
        """Seconds to wait before event number ``produced`` (0-based), on a fixed schedule.

        The schedule counts from the start, not from the previous event, so a slow send
        is caught up instead of lowering the rate.
        """
        if self.rate is None:
            return 0.0
        return max(self.started + produced / self.rate - self.clock(), 0.0)

    async def wait_for_turn(self, produced: int) -> None:
        delay = self.delay_before(produced)
        if delay > 0:
            await asyncio.sleep(delay)
        elif self.rate is None and produced % YIELD_EVERY == 0:
            await asyncio.sleep(0)
