"""The customer-service window: 48 hours after the student's last message, five messages at most."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.channels.wechat.window import service_window

SHANGHAI = ZoneInfo("Asia/Shanghai")
WROTE = datetime(2026, 3, 2, 21, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("after", "sent", "may_send", "remaining", "reason"),
    [
        (timedelta(minutes=1), 0, True, 5, "open"),
        (timedelta(hours=47, minutes=59), 4, True, 1, "open"),
        (timedelta(hours=1), 5, False, 0, "used_up"),
        (timedelta(hours=1), 9, False, 0, "used_up"),
        (timedelta(hours=48), 0, False, 0, "expired"),
        (timedelta(days=30), 0, False, 0, "expired"),
    ],
)
def test_the_window_after_the_students_last_message(
    after: timedelta, sent: int, may_send: bool, remaining: int, reason: str
) -> None:
    window = service_window(WROTE, sent, WROTE + after)
    assert (window.may_send, window.remaining, window.reason) == (may_send, remaining, reason)
    assert window.closes_at == WROTE + timedelta(hours=48)


def test_a_student_who_never_wrote_cannot_be_messaged() -> None:
    window = service_window(None, 0, WROTE)
    assert (window.may_send, window.closes_at, window.reason) == (False, None, "never_wrote")


def test_the_window_compares_instants_across_zones() -> None:
    utc_now = (WROTE + timedelta(hours=47)).astimezone(ZoneInfo("UTC"))
    assert service_window(WROTE, 0, utc_now).may_send


@pytest.mark.parametrize(
    ("last", "sent", "now"),
    [
        (WROTE.replace(tzinfo=None), 0, WROTE),
        (WROTE, 0, WROTE.replace(tzinfo=None)),
        (WROTE, -1, WROTE),
    ],
)
def test_naive_times_and_negative_counts_are_refused(
    last: datetime, sent: int, now: datetime
) -> None:
    with pytest.raises(ValueError, match=r"timezone-aware|negative"):
        service_window(last, sent, now)
