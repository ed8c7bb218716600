"""The counselor inbox port: how a taken conversation reaches the counselor who holds it.

While a counselor holds a student's conversation, the takeover service hands every item for
them (the student's words, a risk flag, a message that could not be delivered, the bot taking
over again) to the :class:`InboxHub`, which offers it to every inbox plugged in. Telegram's
inbox writes to the counselor's private chat; the web console's will push to the counselor's
open pages. An inbox that cannot reach this counselor answers False; the takeover service's
answer timer pages people again if nobody reads.

Items carry the student's words in memory only, for the counselor's eyes: an inbox must never
log them.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)


class InboxKind(enum.StrEnum):
    """What an inbox item is about."""

    STUDENT = "student"  # the student wrote (``text``; ``level`` when the detector flagged it)
    UNDELIVERED = "undelivered"  # the counselor's words did not reach the student (``status``)
    QUIET = "quiet"  # the student has waited too long for an answer; people were paged again
    FALLBACK = "fallback"  # nobody answered in time: the bot has taken the chat back
    TRANSFERRED = "transferred"  # a colleague passed this chat to this counselor
    ENDED = "ended"  # the case closed, the chat is the bot's again


@dataclass(frozen=True)
class InboxItem:
    """One thing for one counselor about one taken conversation.

    Attributes:
        counselor_id: Who it is for.
        contacts: Their (channel, address) contacts, in rank order, for inboxes that need one.
        case_id: The case the conversation is on (what the counselor replies to).
        case_number: The number people say ("2026-00012").
        student: The student's display name.
        kind: What happened.
        at: When.
        text: The student's words (STUDENT only); never logged.
        level: The detector's level when it flagged the message ("high", "imminent", ...).
        status: A delivery status (UNDELIVERED: "blocked", "retry", "failed").
        message_id: The stored message this is about, if any.
    """

    counselor_id: int
    contacts: Sequence[tuple[str, str]]
    case_id: int
    case_number: str
    student: str
    kind: InboxKind
    at: datetime
    text: str = ""
    level: str | None = None
    status: str = ""
    message_id: int | None = None


class CounselorInbox(Protocol):
    """Delivers inbox items on one surface (a channel, the console)."""

    name: str

    async def deliver(self, item: InboxItem) -> bool:
        """Show the item to its counselor; False when this surface cannot reach them."""
        ...


class InboxHub:
    """Offers each item to every inbox; a failing inbox never stops the others."""

    def __init__(self, inboxes: Sequence[CounselorInbox] = ()) -> None:
        self.inboxes: list[CounselorInbox] = list(inboxes)

    def attach(self, inbox: CounselorInbox) -> None:
        """Plug a surface in (the console subscribes here)."""
        self.inboxes.append(inbox)

    async def deliver(self, item: InboxItem) -> int:
        """How many surfaces showed the item."""
        shown = 0
        for inbox in self.inboxes:
            try:
                shown += bool(await inbox.deliver(item))
            except Exception as exc:
                # One surface down must not hide the student from the others. The item holds
                # the student's words, and an exception's text may quote them: the type only.
                log.error(
                    "inbox %s failed for counselor %s, case %s: %s",
                    inbox.name,
                    item.counselor_id,
                    item.case_id,
                    type(exc).__name__,
                )
        if not shown:
            log.warning(
                "inbox item (%s) for counselor %s on case %s reached no surface",
                item.kind.value,
                item.counselor_id,
                item.case_id,
            )
        return shown
