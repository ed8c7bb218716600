"""A recording notifier for tests and benchmarks: it keeps what it was asked to send.

It records outcomes (which alerts, what each send answered), not call sequences, so tests
assert on behaviour: "the counselor got exactly one alert with this key".
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from escalation.notifiers.base import Alert, SendResult


class RecordingNotifier:
    """Records every alert; answers from ``script`` in order, then "delivered".

    Args:
        channel: the channel name it stands in for ("email", "webhook", ...).
        script: answers to give, one per send. An exception in it is raised instead, to test
            that the engine survives a notifier breaking its contract. An endless iterable
            (``itertools.repeat(SendResult.failed("down"))``) fails for good.
        delay: seconds to sleep per send, to stand in for a slow channel (benchmarks).
    """

    def __init__(
        self,
        channel: str,
        *,
        script: Iterable[SendResult | Exception] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.channel = channel
        self.delay = delay
        self.alerts: list[Alert] = []
        self.outcomes: list[tuple[Alert, SendResult]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # how many sends overlapped: shows whether dispatch is concurrent
        self._script = iter(script or ())

    async def send(self, alert: Alert) -> SendResult:
        """Record the alert, wait ``delay``, then give the next scripted answer."""
        self.alerts.append(alert)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            answer = next(self._script, SendResult.delivered())
            if isinstance(answer, Exception):
                raise answer
            self.outcomes.append((alert, answer))
            return answer
        finally:
            self.in_flight -= 1

    @property
    def delivered(self) -> list[Alert]:
        """The alerts whose send answered ok, in order."""
        return [alert for alert, result in self.outcomes if result.ok]

    def keys(self) -> list[str]:
        """Idempotency keys of every send attempt, duplicates included."""
        return [alert.idempotency_key for alert in self.alerts]

    def __repr__(self) -> str:
        return f"RecordingNotifier({self.channel!r}, sent={len(self.alerts)})"
