"""Across every channel: the student's words leave only as the quote the engine allowed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx
import pytest

from escalation.notifiers.base import Alert, Notifier
from escalation.notifiers.dingtalk import DingTalkNotifier
from escalation.notifiers.email import EmailNotifier
from escalation.notifiers.webhook import WebhookNotifier
from escalation.notifiers.wecom import WeComNotifier

if TYPE_CHECKING:  # fixtures' types only; two conftest modules share one name at run time
    from conftest import HttpReceiver, MailServer, SmtpFactory

MakeAlert = Callable[..., Alert]
RAW_MESSAGE = "今晚我就从天台跳下去 RAW-7731"
QUOTE = "不想活了 QUOTE-5520"


@pytest.fixture
async def channels(
    smtp_server: SmtpFactory, receiver: HttpReceiver
) -> AsyncIterator[tuple[list[tuple[Notifier, str]], Callable[[], list[str]]]]:
    """Every real notifier, each with its address, and a function that reads what left."""
    mail: MailServer = smtp_server("none")
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})
    async with httpx.AsyncClient() as client:
        notifiers: list[tuple[Notifier, str]] = [
            (
                EmailNotifier(mail.host, mail.port, security="none", sender="hg@x.example"),
                "c@x.example",
            ),
            (WebhookNotifier(b"k" * 32, client=client), receiver.url + "/hook"),
            (WeComNotifier(base_url=receiver.url + "/wecom", client=client), "wecom-key"),
            (WeComNotifier(base_url=receiver.url + "/wecom", msgtype="text", client=client), "k"),
            (DingTalkNotifier("SEC1", base_url=receiver.url + "/ding", client=client), "tok"),
            (
                DingTalkNotifier(
                    "SEC1", base_url=receiver.url + "/ding", msgtype="text", client=client
                ),
                "tok",
            ),
        ]

        def sent() -> list[str]:
            emails = [
                str(d.message) + d.message["Subject"] + d.message.get_content()
                for d in mail.delivered
            ]
            posts = [
                json.dumps(r.json(), ensure_ascii=False) + r.raw_query for r in receiver.requests
            ]
            return emails + posts

        yield notifiers, sent


async def send_everywhere(
    channels: tuple[list[tuple[Notifier, str]], Callable[[], list[str]]], alert: Alert
) -> list[str]:
    notifiers, sent = channels
    for notifier, address in notifiers:
        result = await notifier.send(replace(alert, address=address))
        assert result.ok, f"{notifier.channel}: {result.error}"
    payloads = sent()
    assert len(payloads) == len(notifiers)
    return payloads


@pytest.mark.parametrize("kind", ["alert", "referral", "update"])
async def test_no_student_text_without_an_allowed_quote(
    channels: tuple[list[tuple[Notifier, str]], Callable[[], list[str]]],
    make_alert: MakeAlert,
    kind: str,
) -> None:
    alert = make_alert(kind=kind, evidence_quote=None, extra={"message_text": RAW_MESSAGE})

    payloads = await send_everywhere(channels, alert)

    for payload in payloads:
        assert "RAW-7731" not in payload
        assert "天台" not in payload
        assert "HG-2025-0007" in payload  # and yet each one says which case it is about


async def test_the_allowed_quote_reaches_every_channel_and_nothing_more(
    channels: tuple[list[tuple[Notifier, str]], Callable[[], list[str]]],
    make_alert: MakeAlert,
) -> None:
    alert = make_alert(evidence_quote=QUOTE, extra={"message_text": RAW_MESSAGE})

    payloads = await send_everywhere(channels, alert)

    for payload in payloads:
        assert "QUOTE-5520" in payload
        assert "RAW-7731" not in payload
