"""The channel-neutral student service: one inbound message in, committed, answered.

Every channel (Telegram, the console, the web chat, WeChat) hands what a student sent to
:meth:`StudentService.receive` or, when it must act between the pipeline and the replies (a
Telegram button press answers its query first), to an :meth:`StudentService.exchange`. The
service holds the one lock per chat identity (a student's messages are handled and answered
in arrival order, different students concurrently), runs the pipeline (one transaction),
kicks the green channel when a case was asked for, and sends the replies through the channel's
:class:`~bot.channels.port.StudentPort`:

- flood control, per channel: a student who sends dozens of messages a second gets answers to
  the first few, then one per interval; the rest are held, merged (only the newest are sent,
  with any file asked for) and sent when the chat calms down, after one short "slow down"
  note. Every message is still stored and read by the detector. Replies that matter now (a
  risk signal, a new case, ``/help``, ``/talk``) are never held back;
- while a counselor holds the chat (see :mod:`bot.services.takeover`) the bot is silent and
  the student's words go to that counselor's inbox;
- a delivery the channel reports as blocked marks the student unreachable (their counselor
  sees it); their next message makes them reachable again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.port import Delivery, DeliveryResult, StudentPort
from bot.services.flood import PRUNE_AT, FloodGate
from bot.services.pipeline import Inbound, Outcome, Pipeline, PromptOf, split_command
from bot.services.relay import Relay
from bot.services.render import Outbound
from bot.services.students import mark_unreachable
from core.clock import Clock
from core.vocabulary import RiskLevel
from flows.texts import SLOW_DOWN

log = logging.getLogger(__name__)
# Commands whose answers flood control never holds back, beside risk and new cases.
URGENT_COMMANDS = frozenset({"help", "talk"})
# A flooding student is told to slow down at most this often (seconds).
NOTE_EVERY = 60.0
# Held replies are sent no sooner than this after the last one (seconds).
MIN_PAUSE = 0.05

Key = tuple[str, str]


def is_urgent(inbound: Inbound, outcome: Outcome) -> bool:
    """Replies that flood control never holds back: risk, a new case, a call for help."""
    if outcome.created_case_request:
        return True
    if outcome.assessment is not None and outcome.assessment.level >= RiskLevel.MODERATE:
        return True
    command = split_command(inbound.value)[0]
    return inbound.kind == "command" and command in URGENT_COMMANDS


@dataclass
class _Held:
    """Replies held back from a flooding chat: only the newest are sent, when it calms down."""

    chat_id: str
    outcome: Outcome


@dataclass
class Exchange:
    """One inbound message's turn under its identity's lock: handle it, then reply."""

    service: StudentService
    channel: str
    external_id: str
    inbound: Inbound | None = None
    outcome: Outcome | None = field(default=None)

    async def handle(self, inbound: Inbound, *, prompt_of: PromptOf | None = None) -> Outcome:
        """Run the pipeline (committed on return) and kick the green channel if needed."""
        self.inbound = inbound
        self.outcome = await self.service.pipeline.handle(
            inbound, self.service.clock(), prompt_of=prompt_of
        )
        if self.outcome.created_case_request:
            self.service.kick()  # committed: the green channel may page someone now
        if self.outcome.relay is not None and self.service.relay is not None:
            # A counselor holds the chat: the bot is silent, the words go to them.
            await self.service.relay(self.outcome.relay)
        return self.outcome

    async def reply(self) -> None:
        """Send the handled message's replies, or hold them while the chat floods."""
        inbound, outcome = self.inbound, self.outcome
        if inbound is None or outcome is None or outcome.stale:
            return
        chat_id = inbound.chat_id or inbound.external_id
        await self.service.answer(
            self.channel,
            self.external_id,
            chat_id,
            outcome,
            urgent=is_urgent(inbound, outcome),
            # A press answers the question we asked: it is not flooding, and never held.
            gated=inbound.kind != "button",
        )


class StudentService:
    """Receives students' messages from every channel and answers through their ports."""

    def __init__(
        self,
        pipeline: Pipeline,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        ports: Mapping[str, StudentPort] | None = None,
        floods: Mapping[str, FloodGate] | None = None,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self.pipeline = pipeline
        self.sessions = sessions
        self.clock = clock
        self.ports: dict[str, StudentPort] = dict(ports or {})
        self.floods: dict[str, FloodGate] = dict(floods or {})
        self.kick = kick
        # Shows a taken chat's messages to its counselor (the takeover service, when wired).
        self.relay: Callable[[Relay], Awaitable[None]] | None = None
        self._locks: weakref.WeakValueDictionary[Key, asyncio.Lock] = weakref.WeakValueDictionary()
        self._held: dict[Key, _Held] = {}
        self._flushers: dict[Key, asyncio.Task[None]] = {}
        self._noted: dict[Key, float] = {}

    def attach(self, port: StudentPort, flood: FloodGate | None = None) -> None:
        """Plug a channel in: its port, and its flood limits (none: never held)."""
        self.ports[port.channel] = port
        if flood is not None:
            self.floods[port.channel] = flood

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    @asynccontextmanager
    async def exchange(self, channel: str, external_id: str) -> AsyncIterator[Exchange]:
        """Hold this chat identity's lock for one message: handle, act, reply."""
        async with self._lock((channel, external_id)):
            yield Exchange(self, channel, external_id)

    async def receive(self, inbound: Inbound, *, prompt_of: PromptOf | None = None) -> Outcome:
        """Handle one message and send its replies (the usual case for every channel)."""
        async with self.exchange(inbound.channel, inbound.external_id) as exchange:
            outcome = await exchange.handle(inbound, prompt_of=prompt_of)
            await exchange.reply()
        return outcome

    async def answer(
        self,
        channel: str,
        external_id: str,
        chat_id: str,
        outcome: Outcome,
        *,
        urgent: bool,
        gated: bool = True,
    ) -> None:
        """Send now, or hold while the chat floods (never when urgent or not ``gated``)."""
        key = (channel, external_id)
        flood = self.floods.get(channel) if gated else None
        if flood is None or flood.admit(key) or urgent:
            await self._send(key, chat_id, outcome)
        else:
            await self._hold(key, chat_id, outcome)

    async def _send(self, key: Key, chat_id: str, outcome: Outcome) -> None:
        """Send these replies; they supersede any held ones (a file asked for is kept)."""
        held = self._held.pop(key, None)
        if held is not None:
            outcome.attachments[:0] = held.outcome.attachments
        if not outcome.replies and not outcome.attachments:
            return
        result = await self._deliver(key[0], chat_id, outcome.replies, outcome.attachments)
        await self.settle(result, outcome.student_id, why="reply refused")

    async def _deliver(
        self,
        channel: str,
        chat_id: str,
        replies: list[Outbound],
        attachments: list[tuple[str, bytes]],
    ) -> DeliveryResult:
        port = self.ports.get(channel)
        if port is None:
            # A console or test channel that answers in-process: nothing to send through.
            return DeliveryResult(Delivery.DELIVERED)
        return await port.deliver(chat_id, replies, attachments)

    async def settle(self, result: DeliveryResult, student_id: int, *, why: str) -> None:
        """What a delivery's result means for the student: blocked is unreachable."""
        if result.status is Delivery.BLOCKED:
            changed = False
            if student_id:
                async with self.sessions.begin() as session:
                    changed = await mark_unreachable(session, student_id, self.clock(), why=why)
            log.warning(
                "delivery to student %s refused (blocked)%s",
                student_id,
                "; marked unreachable" if changed else "",
            )
        elif result.status in (Delivery.RETRY, Delivery.FAILED):
            log.warning("reply to student %s not delivered: %s", student_id, result.error)

    async def _hold(self, key: Key, chat_id: str, outcome: Outcome) -> None:
        """Hold back a flooding chat's replies; tell the student once; flush when calm."""
        previous = self._held.get(key)
        if previous is not None:
            outcome.attachments[:0] = previous.outcome.attachments
        else:
            log.info("a %s chat is flooding: replies held", key[0])
        self._held[key] = _Held(chat_id, outcome)
        flood = self.floods[key[0]]
        now = flood.clock()
        if len(self._noted) >= PRUNE_AT:
            self._noted = {k: t for k, t in self._noted.items() if now - t < NOTE_EVERY}
        if now - self._noted.get(key, -NOTE_EVERY) >= NOTE_EVERY:
            self._noted[key] = now
            note = self.pipeline.renderer.text(SLOW_DOWN, outcome.language)
            result = await self._deliver(key[0], chat_id, [Outbound(note, purpose="note")], [])
            if result.status is Delivery.BLOCKED:
                self._held.pop(key, None)
                await self.settle(result, outcome.student_id, why="reply refused")
                return
        if key not in self._flushers:
            self._flushers[key] = asyncio.create_task(self._flush_later(key))

    async def _flush_later(self, key: Key) -> None:
        """Send the newest held replies as soon as the chat has a token again."""
        flood = self.floods[key[0]]
        try:
            while key in self._held:
                await asyncio.sleep(max(flood.wait(key), MIN_PAUSE))
                async with self._lock(key):
                    held = self._held.get(key)
                    if held is not None and flood.admit(key):
                        await self._send(key, held.chat_id, held.outcome)
        finally:
            self._flushers.pop(key, None)

    def held(self, channel: str, external_id: str) -> Outcome | None:
        """The replies held back for a chat identity, if it is flooding."""
        held = self._held.get((channel, external_id))
        return held.outcome if held is not None else None

    async def drain(self) -> None:
        """Send every held reply now (at shutdown): nothing a student is owed is lost."""
        for key in list(self._held):
            async with self._lock(key):
                held = self._held.get(key)
                if held is not None:  # a flusher may have sent it while we waited
                    await self._send(key, held.chat_id, held.outcome)
        flushers = list(self._flushers.values())
        for task in flushers:
            task.cancel()
        await asyncio.gather(*flushers, return_exceptions=True)
        self._noted.clear()

    def now(self) -> datetime:
        """The service's clock."""
        return self.clock()
