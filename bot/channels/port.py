"""The delivery port: the one small interface a channel implements to reach a student.

A channel translates its updates into :class:`~bot.services.pipeline.Inbound` and hands them
to the student service; everything the service sends back (replies, held replies, reminders,
later a counselor's words) goes out through the channel's :class:`StudentPort`, which answers
with what happened: delivered, blocked (the student blocked us or left), retry later, or
failed. The service decides what each answer means; the channel only reports it.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.channels.inbox import CounselorInbox
from bot.services.flood import FloodGate
from bot.services.render import Outbound
from escalation.notifiers.base import Notifier

# A file sent with the replies: (file name, bytes).
Attachment = tuple[str, bytes]


class Delivery(enum.StrEnum):
    """How one delivery went."""

    DELIVERED = "delivered"
    # The student blocked us or left the channel: they are unreachable until they write.
    BLOCKED = "blocked"
    # Transient: rate limits, timeouts, network trouble.
    RETRY = "retry"
    # This message can never be delivered as it is (a malformed request).
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one delivery, with a wait when the channel asked for one."""

    status: Delivery
    retry_after: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        """Delivered."""
        return self.status is Delivery.DELIVERED


DELIVERED = DeliveryResult(Delivery.DELIVERED)


class StudentPort(Protocol):
    """Sends to the student chats of one channel."""

    channel: str

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        """Send the replies in order, then the attachments; never raise for delivery problems."""
        ...


@dataclass(frozen=True)
class ChannelPlug:
    """What one channel adds to a process: a way to students, a way to counselors, or both.

    Attributes:
        name: The channel name identities and contacts are stored under.
        port: Delivers to students (replies, held replies, reminders).
        notifier: Delivers green-channel alerts to counselors and hospitals.
        flood: The channel's per-chat limits for replies (``None``: never held).
        reminder_rate: Pushes weekly reminders at up to this many messages a second.
        inbox: Shows counselors the conversations they took over (the student's words).
        close: Releases what the plug opened (a bot's connections).
    """

    name: str
    port: StudentPort | None = None
    notifier: Notifier | None = None
    flood: FloodGate | None = None
    reminder_rate: float | None = None
    inbox: CounselorInbox | None = None
    close: Callable[[], Awaitable[None]] | None = None
