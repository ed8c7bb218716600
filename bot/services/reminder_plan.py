"""When a student's weekly reminder is due: pure functions of the student's slot and settings.

The due-reminder query, not a scheduler's job store, decides what is due; these functions
decide from one row and ``now``, so one tick can plan for 100,000 students.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config.settings import ReminderSettings
from core.clock import WEEKDAYS

# A reminder missed by a restart or an outage is still sent within this window.
CATCH_UP = timedelta(hours=6)


@dataclass(frozen=True)
class Slot:
    """A student's weekly reminder time in local terms."""

    weekday: int  # 0 = Monday
    minute: int  # minute of the day
    zone: str


def slot_for(
    settings: ReminderSettings,
    zone: str,
    *,
    student: tuple[int | None, int | None],
    klass: tuple[int | None, int | None],
) -> Slot:
    """The student's own slot, else the class's, else the configured default."""
    default = (
        WEEKDAYS.index(settings.default_weekday),
        settings.default_time.hour * 60 + settings.default_time.minute,
    )
    for weekday, minute in (student, klass):
        if weekday is not None and minute is not None and 0 <= weekday <= 6:
            return Slot(weekday, max(0, min(1439, minute)), zone)
    return Slot(default[0], default[1], zone)


def _quiet(settings: ReminderSettings, moment: time) -> bool:
    start, end = settings.quiet_start, settings.quiet_end
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


def _in_term(settings: ReminderSettings, day: date) -> bool:
    if day in settings.holidays:
        return False
    return not settings.terms or any(t.start <= day <= t.end for t in settings.terms)


def week_key(day: date) -> str:
    """ISO year and week, the identity of a weekly reminder."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def due_weekly(settings: ReminderSettings, slot: Slot, now: datetime) -> str | None:
    """The claim key of this week's reminder if it is due at ``now``, else None.

    A slot inside quiet hours moves to the end of the quiet hours; term dates and holidays
    (in the school's local calendar) skip the week's reminder.
    """
    zone = ZoneInfo(slot.zone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=slot.weekday)
    at = datetime.combine(day, time(slot.minute // 60, slot.minute % 60), zone)
    if _quiet(settings, at.timetz().replace(tzinfo=None)):
        quiet_end = datetime.combine(at.date(), settings.quiet_end, zone)
        at = quiet_end if quiet_end > at else quiet_end + timedelta(days=1)
    if not at <= local < at + CATCH_UP:
        return None
    if _quiet(settings, local.time()) or not _in_term(settings, local.date()):
        return None
    return f"weekly:{week_key(day)}"


WEEK_MINUTES = 7 * 1440


@dataclass(frozen=True)
class DueWindow:
    """The weekly slots due now in one time zone, as minutes of the week (Monday 00:00 = 0).

    A student's slot ``(weekday, minute)`` is due when ``first <= weekday * 1440 + minute
    <= last``; ``key`` is the claim key of every reminder due in the window. The planning
    query filters by it, so only due students are read.
    """

    key: str
    first: int
    last: int


def _effective(settings: ReminderSettings, raw: int) -> int:
    """Where a slot lands (minute of the week, maybe past Sunday) after quiet hours move it."""
    day, minute = divmod(raw, 1440)
    if not _quiet(settings, time(minute // 60, minute % 60)):
        return raw
    end = settings.quiet_end.hour * 60 + settings.quiet_end.minute
    return day * 1440 + end if end > minute else (day + 1) * 1440 + end


def _first_at_least(settings: ReminderSettings, target: int) -> int:
    """The smallest slot whose effective time is >= target (WEEK_MINUTES when none)."""
    low, high = 0, WEEK_MINUTES
    while low < high:
        middle = (low + high) // 2
        if _effective(settings, middle) >= target:
            high = middle
        else:
            low = middle + 1
    return low


def due_window(settings: ReminderSettings, zone: str, now: datetime) -> DueWindow | None:
    """The slots :func:`due_weekly` finds due at ``now`` in ``zone``, as one range, or None.

    Exactly the same answer as calling :func:`due_weekly` for every slot (a test checks it):
    a slot is due when its effective time (after quiet hours) lies in the catch-up window
    that ends now, and where slots land only grows with the slot, so the due slots form
    one range.
    """
    local = now.astimezone(ZoneInfo(zone))
    if _quiet(settings, local.time()) or not _in_term(settings, local.date()):
        return None
    elapsed = local.weekday() * 1440 + local.hour * 60 + local.minute
    catch_up = int(CATCH_UP.total_seconds() // 60)
    first = _first_at_least(settings, elapsed - catch_up + 1)
    last = _first_at_least(settings, elapsed + 1) - 1
    if first > last:
        return None
    return DueWindow(f"weekly:{week_key(local.date())}", first, last)
