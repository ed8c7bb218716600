"""The one composition root: every process gets its runtime here.

``heartguard run``, ``worker``, ``chat`` and ``demo``, the ``cases`` commands, the benchmarks
and the tests all build what they run with :func:`open_runtime` (or, for commands that only
need the database, :func:`open_app`), from one settings object and one clock. Only the
channels differ, and each channel plugs in the same way: a :class:`ChannelPlug` that may carry
a port to students, a notifier to counselors and its flood limits. Adding a channel is one
package under ``bot/channels/`` and one line in :data:`PLUGS`; a channel with pages or a
callback also gives ``heartguard run`` a route group (``bot/process.py``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.inbox import InboxHub
from bot.channels.port import ChannelPlug
from bot.channels.telegram import CHANNEL as TELEGRAM
from bot.channels.telegram.kit import plug as telegram_plug
from bot.channels.web import CHANNEL as WEB
from bot.channels.web.kit import plug as web_plug
from bot.channels.wechat import CHANNEL as WECHAT
from bot.channels.wechat.kit import plug as wechat_plug
from bot.config.settings import Settings
from bot.errors import DatabaseUnavailableError, HeartGuardError
from bot.scheduler import Scheduler
from bot.services.access import Access
from bot.services.flow_effects import check_handlers
from bot.services.pipeline import Pipeline
from bot.services.reminders import ReminderRunner
from bot.services.reports.delivery import WeeklyDelivery
from bot.services.retention import RetentionJob
from bot.services.student_service import StudentService
from bot.services.takeover import TakeoverService
from bot.services.takeover_timer import QuietTimer
from bot.services.transcript import Transcript
from bot.web.live import LiveHub
from core.clock import WEEKDAYS, Clock, utcnow
from escalation.actions import CaseService
from escalation.auditor import Auditor
from escalation.coverage import ReachFinder
from escalation.engine import EscalationEngine
from escalation.notifiers.base import Notifier
from escalation.notifiers.console import ConsoleNotifier
from escalation.policy import Chain, Step
from escalation.roster import ShiftSpec
from flows import FlowConfig, FlowEngine, InstrumentBand
from lexicons.detector import Detector, default_detector
from lexicons.model import ModelError
from storage.crypto import DataCipher, load_cipher
from storage.db import create_engine, session_factory
from storage.keycheck import check_before_upgrade, check_key, record_key
from storage.migrate import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)


# -- storage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppContext:
    """The database and the cipher: what every command uses."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cipher: DataCipher


def safe_url(url: str) -> str:
    """The database URL with any password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def build_cipher(settings: Settings) -> DataCipher:
    """The data cipher from environment keys, or a generated local key where allowed."""
    return load_cipher(
        [key.get_secret_value() for key in settings.data_keys],
        key_file=Path(settings.privacy.key_file),
        allow_generated=settings.privacy.allow_generated_key,
    )


async def check_database(engine: AsyncEngine, url: str, *, need_schema: bool) -> None:
    """Fail with one clear line when the database is unreachable or not migrated."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, OperationalError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200] or type(exc).__name__
        raise DatabaseUnavailableError(
            f"cannot reach the database at {safe_url(url)}: {reason}"
        ) from None
    if need_schema:
        current = await current_revision(engine)
        if current != head_revision():
            raise DatabaseUnavailableError(
                f"the database at {safe_url(url)} is at schema {current or 'none'}, "
                f"this code needs {head_revision()}: run `heartguard db upgrade`"
            )


@asynccontextmanager
async def open_app(settings: Settings, *, need_schema: bool = True) -> AsyncIterator[AppContext]:
    """Open the database and cipher for the lifetime of a command or process."""
    cipher = build_cipher(settings)
    engine = create_engine(settings.database.url, echo=settings.database.echo)
    try:
        await check_database(engine, settings.database.url, need_schema=need_schema)
        sessions = session_factory(engine)
        if need_schema:
            await check_data_key(sessions, cipher)
        yield AppContext(settings, engine, sessions, cipher)
    finally:
        await engine.dispose()


async def check_data_key(sessions: async_sessionmaker[AsyncSession], cipher: DataCipher) -> None:
    """Refuse a wrong or stale HEARTGUARD_DATA_KEY at start, in one line (storage.keycheck)."""
    async with sessions() as session:
        state = await check_key(session, cipher)
    if state.note:
        log.warning("%s", state.note)


async def upgrade_database(app: AppContext, now: datetime) -> tuple[str | None, str | None]:
    """``db upgrade`` (and the demo): check the key, migrate, record the key's fingerprint.

    Returns the revisions before and after.
    """
    before = await current_revision(app.engine)
    await check_before_upgrade(app.engine, app.cipher)
    await upgrade(app.engine, cipher=app.cipher)
    async with app.sessions.begin() as session:
        await record_key(session, app.cipher, now)
    return before, await current_revision(app.engine)


# -- pure configuration -------------------------------------------------------------------------


def flow_config(settings: Settings) -> FlowConfig:
    """The flow engine's configuration, from the validated settings."""
    return FlowConfig(
        instruments=tuple(
            InstrumentBand(band.min_grade, band.max_grade, band.instrument)
            for band in settings.schools.instruments
        ),
        guardian_consent_age=settings.schools.guardian_consent_age,
    )


def configured_shifts(settings: Settings) -> tuple[ShiftSpec, ...]:
    """Duty shifts from the config file, beside those `heartguard duty` keeps in the database."""
    return tuple(
        ShiftSpec(
            counselor_id=shift.counselor,
            tier=shift.tier,
            school_code=shift.school or None,
            weekdays=tuple(WEEKDAYS.index(day) for day in shift.days),
            start_minute=shift.start.hour * 60 + shift.start.minute,
            end_minute=shift.end.hour * 60 + shift.end.minute or 1440,
        )
        for shift in settings.escalation.shifts
    )


def policies(settings: Settings) -> dict[str, Chain]:
    """The escalation chains, per priority, from the validated settings."""
    return {
        priority: Chain(
            priority,
            tuple(Step(tuple(step.tiers), step.ack_timeout) for step in policy.steps),
            policy.repeat,
        )
        for priority, policy in settings.escalation.policies.items()
    }


def send_timeout(settings: Settings) -> timedelta:
    """The longest a dispatcher waits for one send: the longest notifier timeout."""
    return max(settings.escalation.email.timeout, settings.escalation.webhook_timeout)


# -- channels -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlugContext:
    """What a channel's plug may use: storage, the clock, the stored lines, the page wake-ups."""

    app: AppContext
    clock: Clock
    transcript: Transcript
    live: LiveHub

    @property
    def settings(self) -> Settings:
        """The validated settings."""
        return self.app.settings


PlugFactory = Callable[[PlugContext], ChannelPlug | None]
# Every channel a process may use; each factory returns None when its channel is not set up.
# Adding a channel: its package under bot/channels/, and one line here. The order is the
# order reminders are tried in: a student on WeChat gets theirs as a subscription notice
# before the chat page's banner claims it.
PLUGS: Mapping[str, PlugFactory] = {
    TELEGRAM: lambda ctx: telegram_plug(ctx.settings),
    WECHAT: wechat_plug,
    WEB: web_plug,
}


def configured_channels(settings: Settings) -> frozenset[str]:
    """The channels this configuration can send alerts by (what :func:`notifiers` builds)."""
    names = {"console", "wecom"}
    if settings.escalation.email.host:
        names.add("email")
    if settings.escalation.webhook_secret is not None:
        names.add("webhook")
    if settings.escalation.dingtalk_secret is not None:
        names.add("dingtalk")
    if settings.telegram.token is not None:
        names.add(TELEGRAM)
    return frozenset(names)


async def coverage_warnings(app: AppContext, now: datetime) -> list[str]:
    """One line per coverage problem (gaps, unusable contacts), for start-up and config check."""
    from bot.services.coverage_report import coverage_report

    settings = app.settings
    async with app.sessions() as session:
        report = await coverage_report(
            session,
            channels=configured_channels(settings),
            configured=configured_shifts(settings),
            district_zone=settings.schools.default_timezone,
            now=now,
        )
    return report.problems


def notifiers(settings: Settings, plugs: Sequence[ChannelPlug] = ()) -> dict[str, Notifier]:
    """Every notifier the settings make available, and those the channels bring."""
    out: dict[str, Notifier] = {"console": ConsoleNotifier()}
    email = settings.escalation.email
    if email.host:
        from escalation.notifiers.email import EmailNotifier

        out["email"] = EmailNotifier(
            email.host,
            email.port,
            security=email.security,
            username=email.username or None,
            password=email.password.get_secret_value() if email.password else None,
            sender=email.sender,
            timeout=email.timeout.total_seconds(),
        )
    timeout = settings.escalation.webhook_timeout.total_seconds()
    if settings.escalation.webhook_secret is not None:
        from escalation.notifiers.webhook import WebhookNotifier

        out["webhook"] = WebhookNotifier(
            settings.escalation.webhook_secret.get_secret_value(), timeout=timeout
        )
    from escalation.notifiers.wecom import WeComNotifier

    out["wecom"] = WeComNotifier(timeout=timeout)
    if settings.escalation.dingtalk_secret is not None:
        from escalation.notifiers.dingtalk import DingTalkNotifier

        out["dingtalk"] = DingTalkNotifier(
            settings.escalation.dingtalk_secret.get_secret_value(), timeout=timeout
        )
    for plug in plugs:
        if plug.notifier is not None:
            out[plug.name] = plug.notifier
    return out


# -- the runtime --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GreenChannel:
    """The engine, the auditor and the case service, built together."""

    engine: EscalationEngine
    auditor: Auditor
    cases: CaseService


@dataclass
class Runtime:
    """Everything a process runs, wired once."""

    app: AppContext
    clock: Clock
    detector: Detector
    flows: FlowEngine
    pipeline: Pipeline
    green: GreenChannel
    students: StudentService
    scheduler: Scheduler
    takeover: TakeoverService
    access: Access
    transcript: Transcript
    live: LiveHub
    plugs: dict[str, ChannelPlug] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        """The validated settings."""
        return self.app.settings

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The database's sessions."""
        return self.app.sessions

    async def warm_up(self) -> None:
        """Load what the first message would otherwise load on the loop, before taking any.

        jieba's dictionary and the detector's first run cost about a second; they load on a
        thread, so the loop (signals, a worker's first ticks) keeps running. Then the heap
        built at start-up (modules, the lexicon, the dictionary: never garbage) is frozen out
        of the garbage collector, whose full passes over it held the loop for 40 to 300 ms.
        """
        started = time.perf_counter()
        await asyncio.to_thread(warm_detector, self.detector)
        gc.collect()
        gc.freeze()
        log.info("detector warmed up in %.1f s", time.perf_counter() - started)

    async def aclose(self) -> None:
        """Close the notifiers' pooled connections and what the channels opened."""
        gc.unfreeze()  # what this runtime held may be garbage now
        for notifier in self.green.engine.dispatcher.notifiers.values():
            close = getattr(notifier, "aclose", None)
            if close is not None:
                await close()
        for plug in self.plugs.values():
            if plug.close is not None:
                await plug.close()


def warm_detector(detector: Detector) -> None:
    """Load jieba's dictionary and run the detector once (its first run builds caches)."""
    detector.warm_up()
    detector.assess("预热：今天有点累，不想活了 warm-up", [])


def build_runtime(
    app: AppContext,
    *,
    clock: Clock = utcnow,
    plugs: Mapping[str, ChannelPlug | None] | None = None,
    detector: Detector | None = None,
    reminders: bool = False,
) -> Runtime:
    """Wire a process's runtime.

    Args:
        app: the database and cipher.
        clock: the one clock every part reads.
        plugs: a process's own channel plugs, by name, in place of the defaults built from
            the settings (:data:`PLUGS`); None drops a channel.
        detector: a detector already loaded (benchmarks and tests share one).
        reminders: run reminder ticks in this process's scheduler.
    """
    settings = app.settings
    check_handlers()
    transcript = Transcript(app.sessions, app.cipher, clock=clock)
    live = LiveHub()
    chosen = default_plugs(PlugContext(app, clock, transcript, live), plugs)
    chains = policies(settings)
    shifts = configured_shifts(settings)
    # Who counts as reachable: a contact on a channel this installation can send (every
    # process builds the same notifiers from the same settings, whichever one sends it).
    reachable = configured_channels(settings) | {p.name for p in chosen if p.notifier}
    engine = EscalationEngine(
        app.sessions,
        chains,
        notifiers(settings, chosen),
        cipher=app.cipher,
        district_zone=settings.schools.default_timezone,
        quote_chars=settings.privacy.alert_quote_chars,
        lease=settings.escalation.notification_lease,
        send_timeout=send_timeout(settings),
        shifts=shifts,
        channels=reachable,
        # Alerts link to the case's console page where the web server is public.
        console_url=settings.web.public_url if settings.web.enabled else "",
    )
    auditor = Auditor(
        app.sessions,
        grace=max(settings.escalation.tick_interval * 4, settings.escalation.audit_interval),
        heartbeat_url=settings.escalation.heartbeat_url,
        shifts=shifts,
        district_zone=settings.schools.default_timezone,
        channels=reachable,
        tick=settings.escalation.tick_interval,
        tick_errors=lambda: engine.last_errors,
    )
    cases = CaseService(
        app.sessions,
        chains,
        emergency_ack_expiry=settings.escalation.emergency_ack_expiry,
        cipher=app.cipher,
    )
    flows = FlowEngine(flow_config(settings))
    pipeline = Pipeline(
        settings=settings,
        sessions=app.sessions,
        cipher=app.cipher,
        detector=detector or packaged_detector(),
        engine=flows,
        reach=ReachFinder(
            reachable,
            configured=shifts,
            district_zone=settings.schools.default_timezone,
        ),
    )
    runners = [
        ReminderRunner(
            app.sessions,
            settings,
            pipeline.renderer,
            plug.port,
            channel=plug.name,
            rate=plug.reminder_rate,
        )
        for plug in chosen
        if reminders and plug.port is not None and plug.reminder_rate
    ]
    green = GreenChannel(engine, auditor, cases)
    retention = RetentionJob(app.sessions, settings.privacy.safety_record_retention_days)
    # Monday's reports go out from the process that sends reminders (`run`); claimed per week.
    delivery = WeeklyDelivery(app.sessions, settings) if reminders else None
    scheduler = Scheduler(
        engine,
        auditor,
        settings,
        clock,
        reminders=runners,
        retention=retention,
        reports=delivery,
    )
    students = StudentService(pipeline, app.sessions, clock=clock, kick=scheduler.kick)
    takeover = TakeoverService(
        app.sessions,
        cases,
        cipher=app.cipher,
        renderer=pipeline.renderer,
        ports=students.ports,
        inbox=InboxHub([plug.inbox for plug in chosen if plug.inbox is not None]),
        clock=clock,
        quiet_after=settings.takeover.quiet_after,
        zone=settings.schools.default_timezone,
        configured=shifts,
        kick=scheduler.kick,
    )
    students.relay = takeover.relay
    scheduler.timers.append(QuietTimer(takeover).tick)
    for plug in chosen:
        if plug.port is not None:
            students.attach(plug.port, plug.flood)
    # A counselor's action queues alert updates (and referrals): send them now.
    cases.on_change = scheduler.kick
    return Runtime(
        app=app,
        clock=clock,
        detector=pipeline.detector,
        flows=flows,
        pipeline=pipeline,
        green=green,
        students=students,
        scheduler=scheduler,
        takeover=takeover,
        access=Access(app.sessions, app.cipher, settings.access, clock=clock),
        transcript=transcript,
        live=live,
        plugs={plug.name: plug for plug in chosen},
    )


def packaged_detector() -> Detector:
    """The packaged detector; a missing, corrupt or foreign model file stops the process."""
    try:
        return default_detector()
    except ModelError as exc:
        # Never silently lexicon-only: the learned half finds what the lists miss.
        raise HeartGuardError(str(exc)) from None


def default_plugs(
    ctx: PlugContext, overrides: Mapping[str, ChannelPlug | None] | None = None
) -> list[ChannelPlug]:
    """Every channel the settings set up; ``overrides`` replaces (or, with None, drops) one.

    Plugs come in :data:`PLUGS` order whether built here or handed in.
    """
    given = dict(overrides or {})
    chosen = {name: given.pop(name) if name in given else make(ctx) for name, make in PLUGS.items()}
    chosen.update(given)
    return [plug for plug in chosen.values() if plug is not None]


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    need_schema: bool = True,
    plugs: Mapping[str, ChannelPlug | None] | None = None,
    detector: Detector | None = None,
    reminders: bool = False,
    warm: bool = False,
) -> AsyncIterator[Runtime]:
    """Open the database and build the runtime for the lifetime of a process.

    ``warm``: a long-running process (``run``, ``worker``) warms the detector up before it
    takes any work (see :meth:`Runtime.warm_up`).
    """
    async with open_app(settings, need_schema=need_schema) as app:
        runtime = build_runtime(
            app, clock=clock, plugs=plugs, detector=detector, reminders=reminders
        )
        if warm:
            await runtime.warm_up()
        try:
            yield runtime
        finally:
            await runtime.aclose()
