"""Running the green channel: APScheduler fires the engine tick and the auditor.

APScheduler only fires; it is never the record of what is pending (the database is). The
pipeline "kicks" the tick after a commit that created work, so a crisis does not wait for
the next interval.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.settings import Settings
from bot.green import GreenChannel
from bot.services.reminders import ReminderRunner

log = logging.getLogger(__name__)
TICK_JOB = "green-channel-tick"
AUDIT_JOB = "green-channel-audit"
REMINDER_JOB = "reminders"

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The worker's clock."""
    return datetime.now(UTC)


class GreenChannelRunner:
    """Schedules ticks and audits in the running event loop."""

    def __init__(
        self,
        green: GreenChannel,
        settings: Settings,
        clock: Clock = utcnow,
        reminders: ReminderRunner | None = None,
    ) -> None:
        self.reminders = reminders
        self.green = green
        self.settings = settings
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.ticks = 0
        self._busy: set[asyncio.Task[object]] = set()

    def _track(self) -> None:
        # Remember the running tick or audit so that drain() can wait for it.
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)

    async def tick(self) -> None:
        """One engine tick; the engine logs and survives its own failures."""
        self._track()
        report = await self.green.engine.tick(self.clock())
        self.ticks += 1
        if report.requests or report.sent or report.dead or report.errors:
            log.info(
                "tick: %s request(s), %s step(s), %s queued, %s sent, %s failed, %s dead",
                report.requests,
                report.steps,
                report.queued,
                report.sent,
                report.failed,
                report.dead,
            )

    async def audit(self) -> None:
        """One audit pass."""
        self._track()
        await self.green.auditor.audit(self.clock())

    async def remind(self) -> None:
        """One reminder tick (a minute apart); its failures are logged, never fatal."""
        if self.reminders is None:
            return
        self._track()
        try:
            report = await self.reminders.tick(self.clock())
        except Exception:
            log.exception("reminder tick failed; the next one retries")
            return
        if report.claimed or report.alerts:
            log.info(
                "reminders: %s claimed, %s sent, %s unreachable, %s failed, %s alert(s)",
                report.claimed,
                report.sent,
                report.unreachable,
                report.failed,
                report.alerts,
            )

    def start(self) -> None:
        """Start firing; call from inside the event loop."""
        if self.reminders is not None:
            # The first pass runs at start: reminders due during a restart go out at once.
            self.scheduler.add_job(
                self.remind,
                "interval",
                minutes=1,
                id=REMINDER_JOB,
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        interval = self.settings.escalation.tick_interval.total_seconds()
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=interval,
            id=TICK_JOB,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.add_job(
            self.audit,
            "interval",
            seconds=self.settings.escalation.audit_interval.total_seconds(),
            id=AUDIT_JOB,
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()

    def kick(self) -> None:
        """Run the tick now (after a commit that created work)."""
        job = self.scheduler.get_job(TICK_JOB)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    def stop(self) -> None:
        """Stop firing; a tick in progress finishes on its own."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def drain(self, grace: float = 30.0) -> None:
        """Stop firing and wait (up to ``grace`` seconds) for a tick or audit in flight."""
        self.stop()
        busy = [task for task in self._busy if task is not asyncio.current_task()]
        if busy:
            await asyncio.wait(busy, timeout=grace)


async def run_until_stopped(runner: GreenChannelRunner) -> None:
    """``heartguard worker``: run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner.start()
    log.info(
        "green-channel worker running (tick every %s)", runner.settings.escalation.tick_interval
    )
    await stop.wait()
    # Let a tick in flight finish its transaction before the engine is disposed.
    await runner.drain()
    log.info("green-channel worker stopped")
