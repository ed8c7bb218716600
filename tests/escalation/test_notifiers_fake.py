"""The recording fake: what it keeps and how it can be scripted."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest

from escalation.notifiers.base import Alert, Notifier, SendResult
from escalation.notifiers.fake import RecordingNotifier

MakeAlert = Callable[..., Alert]


async def test_records_every_alert_and_delivers_by_default(make_alert: MakeAlert) -> None:
    fake = RecordingNotifier("email")
    first, second = make_alert(notification_id=1), make_alert(notification_id=2)

    results = [await fake.send(first), await fake.send(second)]

    assert all(result.ok for result in results)
    assert fake.alerts == [first, second]
    assert fake.delivered == [first, second]


async def test_answers_from_its_script_then_delivers(make_alert: MakeAlert) -> None:
    fake = RecordingNotifier(
        "webhook",
        script=[SendResult.retry("HTTP 500"), SendResult.failed("HTTP 410", disable_endpoint=True)],
    )
    alert = make_alert()

    answers = [await fake.send(alert) for _ in range(3)]

    assert [a.ok for a in answers] == [False, False, True]
    assert answers[0].permanent is False
    assert answers[1].disable_endpoint is True
    assert fake.keys() == [alert.idempotency_key] * 3
    assert fake.delivered == [alert]


async def test_an_endless_script_fails_for_good(make_alert: MakeAlert) -> None:
    fake = RecordingNotifier("wecom", script=itertools.repeat(SendResult.failed("down")))

    answers = [await fake.send(make_alert()) for _ in range(5)]

    assert not any(answer.ok for answer in answers)
    assert fake.delivered == []


async def test_a_scripted_exception_is_raised_and_the_alert_still_recorded(
    make_alert: MakeAlert,
) -> None:
    fake = RecordingNotifier("email", script=[RuntimeError("notifier bug")])

    with pytest.raises(RuntimeError, match="notifier bug"):
        await fake.send(make_alert())

    assert len(fake.alerts) == 1
    assert fake.outcomes == []
    assert fake.in_flight == 0


async def test_delay_lets_sends_overlap(make_alert: MakeAlert) -> None:
    fake = RecordingNotifier("telegram", delay=0.05)

    await asyncio.gather(*(fake.send(make_alert(notification_id=n)) for n in range(4)))

    assert fake.max_in_flight == 4
    assert len(fake.delivered) == 4


def test_satisfies_the_notifier_interface() -> None:
    notifier: Notifier = RecordingNotifier("dingtalk")

    assert notifier.channel == "dingtalk"
