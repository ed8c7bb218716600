"""Email against a real aiosmtpd server: content, headers, TLS, and how failures map."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from escalation.notifiers.base import Alert
from escalation.notifiers.email import EmailNotifier

if TYPE_CHECKING:  # fixtures' types only; two conftest modules share one name at run time
    from conftest import Certificate, MailServer, SmtpFactory

MakeAlert = Callable[..., Alert]
SENDER = "心卫 HeartGuard <alerts@heartguard.example>"


def notifier(mail: MailServer, security: str = "none", **options: object) -> EmailNotifier:
    settings: dict[str, object] = {
        "security": security,
        "username": mail.user,
        "password": mail.password,
        "sender": SENDER,
        "timeout": 5.0,
    }
    settings.update(options)
    return EmailNotifier(mail.host, mail.port, **settings)  # type: ignore[arg-type]


async def test_delivers_a_utf8_chinese_email_with_case_headers(
    smtp_server: SmtpFactory, make_alert: MakeAlert
) -> None:
    mail = smtp_server("none")
    alert = make_alert(evidence_quote="我不想再坚持了")

    result = await notifier(mail).send(alert)

    assert result.ok, result.error
    [got] = mail.delivered
    assert got.rcpt_tos == ["wang@school.example"]
    assert got.login == mail.user.encode()
    message = got.message
    assert message["X-HeartGuard-Case"] == "7"
    assert message["X-HeartGuard-Notification"] == "41"
    assert "【紧急】" in message["Subject"]
    assert "HG-2025-0007" in message["Subject"]
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert "北碚区实验中学" in body
    assert "小林" in body
    assert "“我不想再坚持了”" in body
    assert "heartguard cases ack 7" in body
    assert result.external_id
    assert len(result.external_id) <= 64  # the outbox column's size
    assert message["Message-ID"].startswith(f"<{result.external_id}.")


async def test_a_retried_send_carries_the_same_message_id(
    smtp_server: SmtpFactory, make_alert: MakeAlert
) -> None:
    mail = smtp_server("none")
    sender = notifier(mail)

    await sender.send(make_alert())
    await sender.send(make_alert())  # the engine retrying the same row
    await sender.send(make_alert(idempotency_key="case:7:alert:t1:s2:tier1:counselor3:c0"))

    ids = [got.message["Message-ID"] for got in mail.delivered]
    assert len(ids) == 3
    assert ids[0] == ids[1]
    assert ids[2] != ids[0]
    assert ids[0].endswith("@heartguard.example>")


async def test_starttls_upgrades_before_logging_in(
    smtp_server: SmtpFactory, certificate: Certificate, make_alert: MakeAlert
) -> None:
    mail = smtp_server("starttls")  # the server refuses AUTH before TLS
    sender = notifier(mail, "starttls", ssl_context=certificate.client_context())

    result = await sender.send(make_alert())

    assert result.ok, result.error
    assert mail.delivered[0].tls
    assert mail.delivered[0].login == mail.user.encode()


async def test_implicit_tls(
    smtp_server: SmtpFactory, certificate: Certificate, make_alert: MakeAlert
) -> None:
    mail = smtp_server("tls")
    sender = notifier(mail, "tls", ssl_context=certificate.client_context())

    result = await sender.send(make_alert())

    assert result.ok, result.error
    assert mail.delivered[0].tls


async def test_an_untrusted_certificate_fails_for_good(
    smtp_server: SmtpFactory, make_alert: MakeAlert
) -> None:
    mail = smtp_server("starttls")
    sender = notifier(mail, "starttls", ssl_context=ssl.create_default_context())

    result = await sender.send(make_alert())

    assert not result.ok
    assert result.permanent
    assert "certificate" in result.error
    assert mail.delivered == []


async def test_starttls_never_falls_back_to_plain_text(
    smtp_server: SmtpFactory, make_alert: MakeAlert
) -> None:
    mail = smtp_server("none")  # offers no STARTTLS

    result = await notifier(mail, "starttls").send(make_alert())

    assert result.permanent
    assert mail.delivered == []


async def test_unreachable_host_is_retried(closed_port: int, make_alert: MakeAlert) -> None:
    sender = EmailNotifier("127.0.0.1", closed_port, security="none", sender=SENDER)

    result = await sender.send(make_alert())

    assert not result.ok
    assert not result.permanent
    assert "ConnectionRefused" in result.error


async def test_a_silent_server_is_retried_after_the_timeout(
    silent_port: int, make_alert: MakeAlert
) -> None:
    sender = EmailNotifier("127.0.0.1", silent_port, security="none", sender=SENDER, timeout=0.2)

    result = await sender.send(make_alert())

    assert not result.ok
    assert not result.permanent
    assert "timed out" in result.error


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user", True), ("450 4.2.1 Mailbox busy, try later", False)],
)
async def test_a_refused_recipient_maps_by_reply_code(
    smtp_server: SmtpFactory, make_alert: MakeAlert, reply: str, permanent: bool
) -> None:
    mail = smtp_server("none")
    mail.refuse["gone@school.example"] = reply

    result = await notifier(mail).send(make_alert(address="gone@school.example"))

    assert not result.ok
    assert result.permanent is permanent
    assert reply[:3] in result.error
    assert mail.delivered == []


async def test_bad_credentials_fail_for_good_and_the_password_stays_hidden(
    smtp_server: SmtpFactory, make_alert: MakeAlert, caplog: pytest.LogCaptureFixture
) -> None:
    mail = smtp_server("none")
    wrong = "wrong-password-42"
    sender = notifier(mail, password=wrong)
    caplog.set_level(logging.DEBUG)

    result = await sender.send(make_alert())

    assert result.permanent
    assert "535" in result.error
    assert mail.failed_logins  # the server really checked (smtplib tries PLAIN, then LOGIN)
    assert set(mail.failed_logins) == {mail.user.encode()}
    assert mail.delivered == []
    assert wrong not in result.error
    assert wrong not in caplog.text
    assert wrong not in repr(sender)
    assert "***" in repr(sender)


async def test_a_malformed_address_fails_without_connecting(
    closed_port: int, make_alert: MakeAlert
) -> None:
    sender = EmailNotifier("127.0.0.1", closed_port, security="none", sender=SENDER)

    result = await sender.send(make_alert(address="a@x.example, b@y.example"))

    assert result.permanent  # a closed port would have said "retry": it never got that far


@pytest.mark.parametrize(
    "options",
    [
        {"security": "ssl", "sender": SENDER},
        {"security": "none", "sender": "not an address"},
        {"security": "none", "sender": SENDER, "username": "only-a-user"},
    ],
)
def test_bad_configuration_fails_fast(options: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="email"):
        EmailNotifier("127.0.0.1", 25, **options)  # type: ignore[arg-type]


async def test_a_slow_server_is_given_up_within_one_timeout_for_the_whole_conversation(
    smtp_server: SmtpFactory, make_alert: MakeAlert
) -> None:
    # Each reply comes in time, but together they outlast the timeout: the send gives up
    # before DATA, so the dispatcher never abandons a thread that delivers later.
    mail = smtp_server("none")
    mail.slow = 0.6
    sender = notifier(mail, "none", timeout=1.0)
    started = time.monotonic()
    result = await sender.send(make_alert())
    assert time.monotonic() - started < 2.0
    assert (result.ok, result.permanent) == (False, False)
    assert "timed out" in result.error or "timeout passed" in result.error
    await asyncio.sleep(1.0)
    assert mail.delivered == []
