"""What runs on a timer in a process: green-channel ticks, audits and reminder ticks.

APScheduler only fires; it is never the record of what is pending (the database is). The
student service "kicks" the tick after a commit that created work, and counselor actions kick
it too, so a crisis and an acknowledgement do not wait for the next interval.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.settings import Settings
from bot.services.reminders import ReminderRunner
from bot.services.reports.delivery import WeeklyDelivery
from bot.services.retention import RetentionJob
from core.clock import Clock, utcnow
from escalation.auditor import Auditor
from escalation.engine import EscalationEngine

log = logging.getLogger(__name__)
TICK_JOB = "green-channel-tick"
AUDIT_JOB = "green-channel-audit"
REMINDER_JOB = "reminders"
RETENTION_JOB = "retention"
REPORTS_JOB = "weekly-reports"
# How often `run` looks whether Monday's reports are due (they are claimed in the database).
REPORTS_EVERY = timedelta(minutes=5)
# The first retention run waits a little after start, so it never competes with start-up.
RETENTION_FIRST_RUN = timedelta(minutes=5)


class Scheduler:
    """Schedules ticks, audits and reminders in the running event loop."""

    def __init__(
        self,
        engine: EscalationEngine,
        auditor: Auditor,
        settings: Settings,
        clock: Clock = utcnow,
        reminders: Sequence[ReminderRunner] = (),
        retention: RetentionJob | None = None,
        reports: WeeklyDelivery | None = None,
    ) -> None:
        self.engine = engine
        self.auditor = auditor
        self.reminders = tuple(reminders)
        self.retention = retention
        self.reports = reports
        self.settings = settings
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.ticks = 0
        # Timers that run with each tick (the takeover's answer timer), each taking ``now``.
        self.timers: list[Callable[[datetime], Awaitable[int]]] = []
        # When the last tick finished without a fault (monotonic seconds): the heartbeat.
        self.last_good_tick: float | None = None
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
        report = await self.engine.tick(self.clock())
        for timer in self.timers:
            try:
                await timer(self.clock())
            except Exception:
                log.exception("a timer failed; the next tick retries")
        self.ticks += 1
        if not report.errors:
            self.last_good_tick = time.monotonic()
        # A failing tick is logged by the engine, in one line.
        if report.requests or report.sent or report.dead or report.failed_steps:
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
        await self.auditor.audit(self.clock())

    async def remind(self) -> None:
        """One reminder tick per channel (a minute apart); failures are logged, never fatal."""
        self._track()
        for runner in self.reminders:
            try:
                report = await runner.tick(self.clock())
            except Exception:
                log.exception("reminder tick (%s) failed; the next one retries", runner.channel)
                continue
            if report.claimed or report.alerts:
                log.info(
                    "reminders (%s): %s claimed, %s sent, %s unreachable, %s failed, %s alert(s)",
                    runner.channel,
                    report.claimed,
                    report.sent,
                    report.unreachable,
                    report.failed,
                    report.alerts,
                )

    async def retain(self) -> None:
        """One retention run (deletes what the retention settings say is due)."""
        self._track()
        if self.retention is not None:
            await self.retention.run(self.clock())

    async def send_reports(self) -> None:
        """Send Monday's reports if due; failures are logged, never fatal."""
        self._track()
        if self.reports is None:
            return
        try:
            report = await self.reports.tick(self.clock())
        except Exception:
            log.exception("weekly reports failed; the next pass retries what nobody claimed")
            return
        if report.claimed:
            log.info(
                "weekly reports: %s claimed, %s sent, %s skipped, %s failed",
                report.claimed,
                report.sent,
                report.skipped,
                report.failed,
            )

    def start(self) -> None:
        """Start firing; call from inside the event loop."""
        if self.reports is not None:
            self.scheduler.add_job(
                self.send_reports,
                "interval",
                seconds=REPORTS_EVERY.total_seconds(),
                id=REPORTS_JOB,
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC) + RETENTION_FIRST_RUN,
            )
        if self.retention is not None:
            # Daily, and once shortly after start, so a process restarted every night still
            # runs it; several processes running it is harmless (each run deletes what is due).
            self.scheduler.add_job(
                self.retain,
                "interval",
                days=1,
                id=RETENTION_JOB,
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC) + RETENTION_FIRST_RUN,
            )
        if self.reminders:
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
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.settings.escalation.tick_interval.total_seconds(),
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
        """Run the tick now (after a commit that created work); a no-op when not started."""
        if not self.scheduler.running:
            return
        job = self.scheduler.get_job(TICK_JOB)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    def heartbeat(self) -> str | None:
        """None while ticks keep finishing on time; otherwise why the green channel is stale."""
        if not self.scheduler.running:
            return "green channel: not running"
        # Four missed ticks, or half a minute, whichever is longer: a busy tick is not a dead one.
        grace = max(self.settings.escalation.tick_interval.total_seconds() * 4, 30.0)
        if self.last_good_tick is None:
            return "green channel: no tick yet"
        if time.monotonic() - self.last_good_tick > grace:
            return "green channel: heartbeat stale"
        return None

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


async def run_until_stopped(scheduler: Scheduler) -> None:
    """``heartguard worker``: run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler.start()
    log.info(
        "green-channel worker running (tick every %s)", scheduler.settings.escalation.tick_interval
    )
    await stop.wait()
    # Let a tick in flight finish its transaction before the engine is disposed.
    await scheduler.drain()
    log.info("green-channel worker stopped")
