"""The channel-agnostic message pipeline (DESIGN.md §2).

For every inbound message, in ONE transaction: identify the student, store the message
encrypted, assess it with the detector over the student's recent window, store the
assessment, step the conversation, apply the flow's events (case requests included), store
the new state. Commit, and only then hand the replies to the channel. A crash before the
commit loses nothing the student was told; a crash after it loses no case request.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cryptography.fernet import InvalidToken
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import Settings
from bot.services import students
from bot.services.flow_effects import EventContext, apply_event
from bot.services.language import script_language
from bot.services.one_time_codes import looks_like_code
from bot.services.relay import Relay, intercept
from bot.services.render import Outbound, Renderer
from bot.services.students import SavedConversation
from escalation.coverage import Reach, ReachFinder
from flows import NO_SIGNAL, Conversation, FlowEngine, Input, Reply, RiskSignal, StepResult
from lexicons.conversation import ConversationRisk, ConversationStateError
from lexicons.detector import Detector, RiskAssessment
from storage.crypto import DataCipher
from storage.models import ChannelIdentity, Counselor, Message, RiskAssessmentRecord
from storage.models import Conversation as ConversationRow
from storage.models import Student as StudentRow

log = logging.getLogger(__name__)

InboundKind = Literal["text", "edited", "caption", "button", "command", "media"]
SCANNED: frozenset[str] = frozenset({"text", "edited", "caption"})
# A channel's token for the question its buttons answer (None: no live buttons).
PromptOf = Callable[[Sequence[Outbound]], str | None]
# "/name@bot rest": the name is the first run of non-space characters after the slash.
_COMMAND_LINE = re.compile(r"\s*/?(\S*)\s*(.*)", re.DOTALL)
# One message can chain a few outside answers (a code check); more would be a loop.
_MAX_SYSTEM_STEPS = 3
# The hot rows' statements, built once with their values bound at execution: building a
# statement around its values cost more than running it (as students._OPEN_CHAT found). The
# SET of an update is the parameters' keys besides "key".
_INSERT_MESSAGE = insert(Message)
_INSERT_CONVERSATION = insert(ConversationRow)
_SET_CONVERSATION = update(ConversationRow).where(ConversationRow.student_id == bindparam("key"))
_STEP_CONVERSATION = _SET_CONVERSATION.values(version=ConversationRow.version + 1)
_SET_PROMPT = (
    update(ChannelIdentity)
    .where(
        ChannelIdentity.student_id == bindparam("key"),
        ChannelIdentity.prompt.is_distinct_from(bindparam("new_prompt")),
    )
    .values(prompt=bindparam("new_prompt"))
)


@dataclass(frozen=True)
class Inbound:
    """One thing a student sent, as any channel delivers it."""

    channel: str
    external_id: str
    kind: InboundKind
    value: str
    chat_id: str | None = None
    message_id: str | None = None
    # A button press names the question its keyboard was shown with; it counts only while
    # that question is still the chat's current one (see ``prompt_of``).
    prompt: str | None = None
    # What the student saw and pressed (a button's label, a shortcut's name), stored beside
    # the value so a chat page can show the student's own line as they saw it.
    label: str | None = None


@dataclass
class Outcome:
    """What the pipeline did: replies to send, events for observers, the student id.

    ``stale``: a press on a keyboard that is no longer current; nothing was stored or done
    (``student_id`` is 0 when the chat is not known at all).
    """

    student_id: int
    replies: list[Outbound] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    assessment: RiskAssessment | None = None
    created_case_request: bool = False
    erased: bool = False
    language: str = "zh"
    stale: bool = False
    # Who the replies said was told (a crisis) or will follow up; None when they said neither.
    reach: Reach | None = None
    # A counselor holds the chat: the bot said nothing, and this goes to them after commit.
    relay: Relay | None = None
    # The chat was a counselor's until its case closed (their id): the student is told.
    ended_by: int | None = None


class Pipeline:
    """Runs inbound messages through storage, the detector and the flows."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        cipher: DataCipher,
        detector: Detector,
        engine: FlowEngine,
        reach: ReachFinder | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.cipher = cipher
        self.detector = detector
        self.engine = engine
        self.renderer = Renderer(engine.catalog, settings)
        self.reach = reach

    async def handle(
        self, inbound: Inbound, now: datetime, *, prompt_of: PromptOf | None = None
    ) -> Outcome:
        """Process one inbound message; replies are returned only after the commit.

        Args:
            inbound: what the student sent.
            now: the time of the message.
            prompt_of: the channel's token for the question its buttons will answer, stored
                on the chat identity in the same transaction, so that keyboards shown before
                go stale together with the step that left them behind.
        """
        # Callers serialise one chat identity's messages (StudentService holds its lock).
        async with self.sessions() as session, session.begin():
            chat = await students.open_chat(
                session,
                channel=inbound.channel,
                external_id=inbound.external_id,
                chat_id=inbound.chat_id,
                now=now,
                create=inbound.prompt is None,
            )
            if chat is None:
                return Outcome(student_id=0, stale=True)
            student = chat.student
            if inbound.prompt is not None and chat.prompt != inbound.prompt:
                # Checked in the step's own transaction: no other step can slip between.
                return Outcome(student_id=student.id, stale=True, language=student.language)
            outcome, pending, language = await self._transaction(session, chat, inbound, now)
            extra = await self._reach(session, outcome, pending, language, now)
            # Rendering is pure; the student is told nothing before the commit.
            outcome.replies = self.renderer.replies(pending, language, extra)
            outcome.language = language
            if outcome.ended_by is not None:
                holder = await session.get(Counselor, outcome.ended_by)
                name = holder.name if holder is not None else ""
                ended = self.renderer.text("takeover.ended", language, {"name": name})
                outcome.replies.insert(0, Outbound(ended))
            if prompt_of is not None and outcome.replies and not outcome.erased:
                await self._prompt(session, outcome.student_id, prompt_of(outcome.replies))
        return outcome

    async def _prompt(self, session: AsyncSession, student_id: int, prompt: str | None) -> None:
        """The question now open, on every chat of the student: one conversation, one question.

        A student may reach us from more than one chat (the chat page opened from WeChat); a
        press answers the question only if it is the newest, wherever it was shown.
        """
        # One statement for every chat of the student; the identity loaded in this session
        # is not read again, so it is left as it was (no second UPDATE at flush). Nothing in
        # the step sets an identity's prompt through the ORM, so no flush has to precede this.
        connection = await session.connection()
        await connection.execute(_SET_PROMPT, {"key": student_id, "new_prompt": prompt})

    async def _reach(
        self,
        session: AsyncSession,
        outcome: Outcome,
        pending: list[Reply],
        language: str,
        now: datetime,
    ) -> dict[str, str] | None:
        """Who the replies may say was told: only what the roster can do right now."""
        alerted, followup = self.renderer.uses_reach(pending)
        if not (alerted or followup):
            return None
        reach = Reach.NOBODY  # without a way to tell, promise nobody
        if self.reach is not None and not outcome.erased:
            school_id = await session.scalar(
                select(StudentRow.school_id).where(StudentRow.id == outcome.student_id)
            )
            reach = await self.reach.find(session, school_id, now, look_ahead=followup)
        outcome.reach = reach
        return self.renderer.reach_params(reach, language)

    async def _transaction(
        self, session: AsyncSession, chat: students.Chat, inbound: Inbound, now: datetime
    ) -> tuple[Outcome, list[Reply], str]:
        student, row, plan_token = chat.student, chat.conversation, chat.plan_token
        if students.mark_reachable(session, student, now):
            # They wrote, so they unblocked us: reminders and replies may reach them again.
            log.info("student %s wrote again; reachable", student.id)
        # Core, not the unit of work: the row is written now, its id comes back, and nothing
        # of it is left for the flush at commit (issue 16: the ORM was most of a message's CPU).
        connection = await session.connection()
        stored = await connection.execute(
            _INSERT_MESSAGE,
            {
                "student_id": student.id,
                "direction": "in",
                "kind": inbound.kind,
                "channel": inbound.channel,
                "channel_chat_id": inbound.chat_id,
                "channel_message_id": inbound.message_id,
                "text_enc": self.cipher.encrypt(inbound.value) if inbound.value else None,
                "extra_enc": (
                    self.cipher.encrypt(json.dumps({"label": inbound.label}, ensure_ascii=False))
                    if inbound.label
                    else None
                ),
                "created_at": now,
            },
        )
        key = stored.inserted_primary_key
        assert key is not None  # a single-row INSERT always reports its key
        message_id: int = key[0]
        outcome = Outcome(student_id=student.id)
        signal = NO_SIGNAL
        record: RiskAssessmentRecord | None = None
        said = scanned_text(inbound)
        if said and student.language_source is None and not looks_like_code(said):
            # A newcomer who writes English is answered in English, crisis replies included,
            # from this very message until they pick a language.
            guess = script_language(said)
            if guess is not None:
                student.language, student.language_source = guess, "detected"
        risk_blob: bytes | None = None
        if said is not None and not looks_like_code(said):
            # The conversation's state carries what earlier messages said (their cue classes
            # and levels, never their text), so none of them is read or analysed again.
            turn = self.detector.assess_turn(said, self._risk_state(row), now)
            assessment = turn.assessment
            risk_blob = self.cipher.encrypt(turn.state.to_json())
            record = RiskAssessmentRecord(
                message_id=message_id,
                student_id=student.id,
                level=assessment.level.label,
                categories=list(assessment.categories),
                evidence=[
                    {
                        "start": e.start,
                        "end": e.end,
                        "category": e.category,
                        "rule": e.rule,
                        "message": e.message,
                    }
                    for e in assessment.evidence
                ],
                explanation=assessment.explanation,
                detector_version=assessment.detector_version,
                created_at=now,
            )
            session.add(record)
            outcome.assessment = assessment
            signal = RiskSignal(
                assessment.level.label, frozenset(assessment.categories), ask=assessment.ask
            )
            outcome.events.append(
                {
                    "event": "risk_assessed",
                    "level": assessment.level.label,
                    "categories": list(assessment.categories),
                }
            )
        seized = await intercept(
            session,
            student=student,
            message_id=message_id,
            assessment=record,
            signal=signal,
            text=_shown(inbound),
            command=_command(inbound),
            now=now,
            quiet_after=self.settings.takeover.quiet_after,
            owner_row=chat.owner_row,
        )
        if seized.relay is not None:
            # A counselor holds the chat: the bot is silent; the flow stays where it was, and
            # the detector's state still moves on with every message.
            if row is not None and risk_blob is not None:
                await connection.execute(
                    _SET_CONVERSATION, {"key": row.student_id, "risk_state_enc": risk_blob}
                )
            outcome.relay = seized.relay
            outcome.created_case_request = seized.created_case_request
            return outcome, [], student.language
        outcome.ended_by = seized.ended_by
        conversation: Conversation | None = self._load(row)
        step_input = _flow_input(inbound)
        context = EventContext(
            session=session,
            cipher=self.cipher,
            settings=self.settings,
            now=now,
            student=student,
            assessment=record,
            outcome=outcome,
            plan=students.decode_plan(self.cipher, plan_token),
        )
        pending: list[Reply] = []
        language = student.language
        for _ in range(_MAX_SYSTEM_STEPS + 1):
            profile = students.profile_of(
                context.student,
                context.plan,
                anonymous_allowed=self.settings.privacy.allow_anonymous,
                now=now,
                last_screened_at=chat.last_screened_at,
            )
            result: StepResult = self.engine.step(conversation, profile, step_input, signal, now)
            conversation = result.conversation
            language = result.language
            pending.extend(result.replies)
            system_answer: str | None = None
            for event in result.events:
                answer = await apply_event(context, event)
                system_answer = system_answer or answer
            if system_answer is None:
                break
            step_input, signal = Input.system(system_answer), NO_SIGNAL
        if context.student is not student:
            row = None  # linking removed the old row; store afresh below
        student = context.student
        outcome.student_id = student.id
        if not outcome.erased and conversation is not None:
            # Without a row before the step and without a relink, there is none to look up.
            fresh = chat.conversation is None and student is chat.student
            await self._store(
                session, student.id, row, conversation, now, fresh=fresh, risk=risk_blob
            )
        return outcome, pending, language

    def _risk_state(self, row: SavedConversation | None) -> ConversationRisk | None:
        """The detector's stored state of this conversation; None when absent or unreadable."""
        if row is None or row.risk_state_enc is None:
            return None
        try:
            return ConversationRisk.from_json(self.cipher.decrypt(row.risk_state_enc))
        except (InvalidToken, ConversationStateError, ValueError):
            # An unreadable state starts afresh: this message is still assessed on its own.
            log.warning("unreadable risk state for student %s; starting afresh", row.student_id)
            return None

    def _load(self, row: SavedConversation | None) -> Conversation | None:
        if row is None or row.context_enc is None:
            return None
        try:
            return Conversation.from_json(self.cipher.decrypt(row.context_enc))
        except (ValueError, KeyError, TypeError, InvalidToken):
            # A conversation this code (or this key) cannot read restarts kindly instead of
            # failing forever.
            log.warning("unreadable conversation for student %s; starting afresh", row.student_id)
            return None

    async def _store(
        self,
        session: AsyncSession,
        student_id: int,
        row: SavedConversation | None,
        conversation: Conversation,
        now: datetime,
        *,
        fresh: bool = False,
        risk: bytes | None = None,
    ) -> None:
        """Write the conversation's new state: one UPDATE, or one INSERT when there is no row."""
        values: dict[str, Any] = {
            "flow": conversation.flow,
            "state": conversation.state,
            "context_enc": self.cipher.encrypt(conversation.to_json()),
            "updated_at": now,
        }
        if risk is not None:
            values["risk_state_enc"] = risk
        connection = await session.connection()
        if not fresh or row is not None:
            # ``row`` read in this transaction under the student's lock: it is there. Without
            # one, a relinked student may still have a row (not after linking, which deletes
            # it, but the update says so either way).
            changed = await connection.execute(_STEP_CONVERSATION, {**values, "key": student_id})
            if changed.rowcount:
                return
        await connection.execute(
            _INSERT_CONVERSATION,
            {**values, "student_id": student_id, "risk_state_enc": risk, "version": 1},
        )


def split_command(value: str) -> tuple[str, str]:
    """A command line as a channel delivers it → (command name, the text after it).

    ``"/talk@HeartGuardBot 我今晚就去…"`` → ``("talk", "我今晚就去…")``. The name is lower-case
    without the slash or a bot's @name; the rest keeps the student's own spacing.
    """
    match = _COMMAND_LINE.match(value)
    head, rest = (match[1], match[2]) if match else ("", value)
    return head.split("@", 1)[0].lower(), rest.strip()


def scanned_text(inbound: Inbound) -> str | None:
    """What the detector reads in this message: the text, or the words after a command.

    "/talk 我今晚就去跳楼" runs /talk and is read like the same words sent alone, so a crisis
    written after a command raises a case like any other.
    """
    if inbound.kind in SCANNED:
        return inbound.value
    if inbound.kind == "command":
        return split_command(inbound.value)[1] or None
    return None


def _command(inbound: Inbound) -> str | None:
    return split_command(inbound.value)[0] if inbound.kind == "command" else None


def _shown(inbound: Inbound) -> str:
    """What the counselor holding the chat sees of this message."""
    if inbound.kind in SCANNED:
        return inbound.value
    if inbound.kind == "command":
        return "/" + inbound.value.lstrip("/")
    return f"[{inbound.kind}: {inbound.value}]"


def _flow_input(inbound: Inbound) -> Input:
    if inbound.kind == "command":
        return Input.command(split_command(inbound.value)[0] or "help")
    if inbound.kind == "button":
        return Input.button(inbound.value)
    if inbound.kind == "media":
        return Input.media(inbound.value)
    return Input.text(inbound.value)
