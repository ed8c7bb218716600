"""Email alerts over SMTP (STARTTLS, implicit TLS, or none for a local relay).

smtplib is blocking, so each send runs in a worker thread of the notifier's own pool, as many
as the dispatcher sends at once (the default pool has a few threads per core, and a send
queued behind others would count against its timeout). The Message-ID is derived from the
idempotency key: a retried send is recognisably the same message to the recipient's mail
system and to anyone reading the headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import smtplib
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Any, Literal

from escalation.lease import CONCURRENCY

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer
from escalation.notifiers.base import Alert, SendResult
from escalation.notifiers.render import render

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]


def digest(idempotency_key: str) -> str:
    """32 hex characters naming one notification (keys hold characters a Message-ID may not)."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def message_id(idempotency_key: str, domain: str) -> str:
    """The stable Message-ID of one notification's email."""
    return f"<{digest(idempotency_key)}.heartguard@{domain}>"


class EmailNotifier:
    """Sends plain-text UTF-8 email to ``alert.address``.

    Connection refused, timeouts, dropped connections and 4xx replies retry. 5xx replies
    (recipient refused, authentication failed), STARTTLS unavailable, an untrusted certificate
    and a malformed address fail (permanent).
    """

    channel = "email"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security,
        username: str | None = None,
        password: str | None = None,
        sender: str,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        workers: int = CONCURRENCY,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"email security must be starttls, tls or none, not {security!r}")
        if (username is None) != (password is None):
            raise ValueError("email username and password go together")
        if "@" not in parseaddr(sender)[1]:
            raise ValueError(f"email sender must be an address, not {sender!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.sender, self.timeout = username, sender, timeout
        self.__password = password  # name-mangled and kept out of repr
        self._ssl = ssl_context
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "heartguard.invalid"
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="heartguard-smtp")

    async def send(self, alert: Alert) -> SendResult:
        """Build and send one email; never raises."""
        try:
            msg = self.build(alert)
        except Exception as exc:  # a malformed address or header: retrying will not help
            return SendResult.failed(f"cannot build the email ({type(exc).__name__})")
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._pool, self._deliver, msg, alert.address.strip())
        except Exception as exc:
            result = _classify(exc)
            if result.error.startswith("unexpected"):
                log.error("email notification %s: %s", alert.notification_id, result.error)
            return result
        # The digest, not the whole Message-ID: it fits the outbox's 64-character column.
        return SendResult.delivered(external_id=digest(alert.idempotency_key))

    def build(self, alert: Alert) -> EmailMessage:
        """The email for one alert."""
        to = alert.address.strip()
        if "@" not in parseaddr(to)[1] or any(ch in to for ch in ",;\r\n"):
            raise ValueError("not a single email address")
        subject, text = render(alert)
        msg = EmailMessage(policy=SMTP_POLICY)
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = message_id(alert.idempotency_key, self._domain)
        # Mail clients thread a case's alerts and updates under one (virtual) root message.
        msg["References"] = f"<case-{alert.case_id}.heartguard@{self._domain}>"
        msg["X-HeartGuard-Case"] = str(alert.case_id)
        msg["X-HeartGuard-Notification"] = str(alert.notification_id)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
        msg.set_content(text, charset="utf-8")
        return msg

    def _deliver(self, msg: EmailMessage, to: str) -> None:
        context = self._ssl or ssl.create_default_context()
        # The whole conversation ends within the timeout, not each command: a thread cannot
        # be stopped, so one still talking after the dispatcher gave up would deliver an
        # alert the outbox then sends again.
        deadline = time.monotonic() + self.timeout
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = _SSLWithin(
                self.host, self.port, timeout=self.timeout, context=context, deadline=deadline
            )
        else:
            smtp = _Within(self.host, self.port, timeout=self.timeout, deadline=deadline)
        with smtp:
            if self.security == "starttls":
                # Raises if the server does not offer STARTTLS: never fall back to plain text.
                smtp.starttls(context=context)
            if self.username is not None and self.__password is not None:
                smtp.login(self.username, self.__password)
            smtp.send_message(msg, to_addrs=[to])

    async def aclose(self) -> None:
        """Let the sending threads go (a send in flight finishes on its own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return (
            f"EmailNotifier({self.host!r}, {self.port}, security={self.security!r}, "
            f"username={self.username!r}, password='***', sender={self.sender!r})"
        )


class _Within(smtplib.SMTP):
    """smtplib with one deadline for the whole conversation, checked before every command
    and every reply (the socket then waits only for what time is left)."""

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        self._deadline = deadline
        super().__init__(*args, **kwargs)

    def _left(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            # What smtplib raises for a dead connection: a retry, and ignored by the QUIT
            # that follows a delivered message.
            raise smtplib.SMTPServerDisconnected("the e-mail send timeout passed")
        if self.sock is not None:
            with contextlib.suppress(OSError):  # a socket already closed fails on its own
                self.sock.settimeout(left)

    def send(self, s: ReadableBuffer | str) -> None:
        """Send, within the deadline."""
        self._left()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        """Read a reply, within the deadline."""
        self._left()
        return super().getreply()


class _SSLWithin(_Within, smtplib.SMTP_SSL):
    """Implicit TLS with the same deadline."""


def _classify(exc: Exception) -> SendResult:
    """Map an SMTP or socket failure to retry or failed. Texts never hold the password."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (550, b""))
        return _by_code(code, f"recipient refused: {code} {_text(reply)}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _by_code(exc.smtp_code, f"authentication failed: {exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"{type(exc).__name__}: {exc.smtp_code} {_text(exc)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendResult.retry(f"server disconnected: {str(exc)[:200]}")  # timeouts land here
    if isinstance(exc, smtplib.SMTPException):  # no STARTTLS/AUTH offered, and the like
        return SendResult.failed(f"{type(exc).__name__}: {str(exc)[:200]}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendResult.failed("TLS certificate not trusted")
    if isinstance(exc, ssl.SSLError):  # e.g. TLS spoken to a plain port: a configuration error
        return SendResult.failed(f"TLS error: {exc.reason or type(exc).__name__}")
    if isinstance(exc, TimeoutError):
        return SendResult.retry("timeout")
    if isinstance(exc, OSError):  # refused, unreachable, DNS failure: may pass
        return SendResult.retry(f"{type(exc).__name__}: {exc.strerror or exc}")
    return SendResult.failed(f"unexpected {type(exc).__name__}")


def _by_code(code: int, error: str) -> SendResult:
    return SendResult.retry(error) if 400 <= code < 500 else SendResult.failed(error)


def _text(reply: bytes | smtplib.SMTPResponseException) -> str:
    raw = reply.smtp_error if isinstance(reply, smtplib.SMTPResponseException) else reply
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    return " ".join(str(raw).split())[:200]
