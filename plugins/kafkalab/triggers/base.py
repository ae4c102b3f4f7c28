"""The one polling loop of the lab's triggers: observe, wait, fire once."""

from __future__ import annotations

import asyncio
import inspect
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

Client = TypeVar("Client")


class PollingTrigger(BaseTrigger):
    """Polls one fact every ``poll_interval`` seconds until it holds or ``timeout`` passes.

    Fires exactly one event: ``status`` (``met`` or ``timeout``), ``waited_seconds`` and
    the figures of the last observation. A subclass keeps each constructor argument as
    an attribute of the same name (``serialize()`` hands them to the triggerer), opens
    its clients in ``connect()`` through ``hold()``, observes once per ``poll()`` and
    describes what it saw in ``figures()``.
    """

    def __init__(self, *, poll_interval: float, timeout: float) -> None:
        super().__init__()
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._held: list[Any] = []
        self._last_transient_error: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # The triggerer rebuilds the trigger from this class path in another process, so
        # the path follows the class wherever it lives, and the kwargs are its arguments.
        cls = type(self)
        arguments = [
            name
            for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if name != "self"
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        ]
        return f"{cls.__module__}.{cls.__qualname__}", {n: getattr(self, n) for n in arguments}

    def once(self) -> PollingTrigger:
        """The same trigger, observing once: fires ``met`` or ``timeout`` after one poll."""
        _, kwargs = self.serialize()
        return type(self)(**{**kwargs, "timeout": 0.0})

    async def hold(self, open_client: Callable[[], Client]) -> Client:
        """Open a client off the event loop (connecting blocks) and release it in cleanup()."""
        client = await asyncio.to_thread(open_client)
        self._held.append(client)
        return client

    async def connect(self) -> None:
        """Open the clients ``poll()`` uses, and reset what it accumulates."""

    @abstractmethod
    async def poll(self) -> bool:
        """Take one observation and keep it; whether the condition holds."""

    @abstractmethod
    def figures(self, met: bool, waited: float) -> dict[str, Any]:
        """The event's figures from the last observation."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await self.connect()
        started = time.monotonic()
        observed = False
        while True:
            observation = await self._poll_through_transient_errors()
            observed = observed or observation is not None
            met = bool(observation)
            waited = time.monotonic() - started
            if met or waited >= self.timeout:
                event = TriggerEvent(
                    {
                        "status": "met" if met else "timeout",
                        "waited_seconds": round(waited, 3),
                        # figures() describes the last observation: with none, there
                        # is nothing for it to describe but the error that prevented it.
                        **(self.figures(met, waited) if observed else self._unobserved(waited)),
                    }
                )
                # `airflow dags test` takes the first event and never calls cleanup():
                # release the clients here, on this thread, rather than leave them to
                # the garbage collector (see KafkaAdmin.close). The triggerer's own
                # cleanup() afterwards finds nothing left to release.
                await self.cleanup()
                yield event
                return
            await asyncio.sleep(self.poll_interval)

    def _unobserved(self, waited: float) -> dict[str, Any]:
        return {
            "message": (
                f"no observation in {waited:.0f}s: every request met a transient Kafka "
                f"error, the last: {self._last_transient_error}"
            )
        }

    async def _poll_through_transient_errors(self) -> bool | None:
        """One observation, or None when an error Kafka marks retriable prevented it.

        While leadership moves (a broker lost, a partition reassigned) requests to the
        old leader fail with errors such as UNKNOWN_LEADER_EPOCH or
        NOT_LEADER_OR_FOLLOWER until the client's metadata catches up: the fact is not
        known yet, and the next poll asks again. Other errors end the trigger.
        """
        from kafkalab.kafka.errors import transient_error

        try:
            return await self.poll()
        except Exception as exc:
            error = transient_error(exc)
            if error is None:
                raise
            self.log.info("transient Kafka error, polling again: %s", error)
            self._last_transient_error = str(error)
            return None

    async def cleanup(self) -> None:
        # run() calls this before its event; the triggerer calls it again after run()
        # ends or is cancelled.
        held, self._held = self._held, []
        for client in held:
            close = getattr(client, "close", None)
            if callable(close):
                await asyncio.to_thread(close)
