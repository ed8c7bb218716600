"""The green-channel engine: one idempotent tick that takes in case requests, advances due
escalation steps, and dispatches due notifications.

The database is the engine's whole memory. A tick can crash anywhere and the next one (in
this process or another) picks up where it stopped: requests not yet marked handled are
taken in again (the one-open-case index stops duplicates), a step is guarded by the case's
token, and notifications are claimed with leases. One case never holds up another: each
request is taken in within its own savepoint and each step runs in its own transaction (see
:mod:`escalation.intake` and :mod:`escalation.steps`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import Policies
from escalation.dispatch import Dispatcher
from escalation.intake import Intake
from escalation.lease import CONCURRENCY, LEASE
from escalation.notifiers.base import Notifier
from escalation.roster import ShiftSpec
from escalation.steps import Stepper
from storage.crypto import DataCipher
from storage.faults import describe

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    """What one tick did, for logs, tests and benchmarks."""

    requests: int = 0
    steps: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    failed_requests: int = 0
    failed_steps: int = 0
    errors: list[str] = field(default_factory=list)


class EscalationEngine:
    """Owns the tick; wire one per process (bot or worker)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policies: Policies,
        notifiers: Mapping[str, Notifier],
        *,
        cipher: DataCipher | None = None,
        district_zone: str = "Asia/Shanghai",
        quote_chars: int = 0,
        concurrency: int = CONCURRENCY,
        lease: timedelta = LEASE,
        send_timeout: timedelta | None = None,
        shifts: Sequence[ShiftSpec] = (),
        channels: Collection[str] | None = None,
        console_url: str = "",
    ) -> None:
        self.sessions = sessions
        self.policies = policies
        self.district_zone = district_zone
        self.shifts = tuple(shifts)
        self.intake = Intake(sessions, policies)
        # Steps page only recipients reachable on one of ``channels`` (those the installation
        # can send; any process may send them): None pages everyone on duty.
        self.stepper = Stepper(
            sessions, policies, district_zone=district_zone, shifts=shifts, channels=channels
        )
        self.dispatcher = Dispatcher(
            sessions,
            notifiers,
            cipher=cipher,
            quote_chars=quote_chars,
            concurrency=concurrency,
            lease=lease,
            send_timeout=send_timeout,
            console_url=console_url,
        )
        # The errors of the last tick (empty once a tick succeeds): the auditor reads them,
        # so a heartbeat is never pinged while ticks fail.
        self.last_errors: tuple[str, ...] = ()
        self._failing: set[tuple[str, str]] = set()

    async def tick(self, now: datetime) -> TickReport:
        """One pass. Never raises: a failing phase is reported and the next phase still runs.

        A failing tick logs one line; a traceback only for an error that is not a database
        fault, the first tick it appears in.
        """
        report = TickReport()
        first: BaseException | None = None
        failing: set[tuple[str, str]] = set()
        started = time.monotonic()
        for name, phase in (
            ("intake", self.intake.run),
            ("advance", self.stepper.run),
            ("dispatch", self.dispatcher.dispatch),
        ):
            # Intake and steps can take a while under load; a claim's lease must count from
            # the moment of the claim, or other workers see it lapse and send the row too.
            moment = now + timedelta(seconds=time.monotonic() - started)
            try:
                await phase(moment if name == "dispatch" else now, report)
            except Exception as exc:  # the loop must survive anything one phase does
                cause = describe(exc)
                report.errors.append(f"{name}: {cause or type(exc).__name__}")
                signature = (name, type(exc).__name__)
                failing.add(signature)
                if cause is None and signature not in self._failing and first is None:
                    first = exc
        self._failing = failing
        self.last_errors = tuple(report.errors)
        if report.errors:
            log.error(
                "green-channel tick failed: %s",
                "; ".join(report.errors),
                exc_info=(type(first), first, first.__traceback__) if first else None,
            )
        return report
