"""Who belongs on the watch list, and why: pure rules over one student's recent history.

- **A clinically meaningful rise**: PHQ-9 or GAD-7 up by ``rise`` points (5 by default, the
  usual threshold of reliable change) from the previous check-in, or from any check-in in the
  ``rise_window`` before, where the higher score is recent (within ``recent`` of now).
- **Silence after a positive ASQ**: ``missed`` weekly reminders or more, each older than
  ``grace``, with no check-in finished since the latest positive ASQ (within ``asq_window``).
- **An open follow-up past due**: the same rule the weekly report counts (``overdue_cases``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

Scored = tuple[datetime, int]


@dataclass(frozen=True)
class WatchRules:
    """Thresholds of the watch list (from ``[reports]`` in the settings)."""

    rise: int = 5
    rise_window: timedelta = timedelta(days=28)
    recent: timedelta = timedelta(days=28)
    missed: int = 2
    asq_window: timedelta = timedelta(days=90)
    grace: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class History:
    """What the rules read about one student (times in UTC, any order)."""

    phq9: Sequence[Scored] = ()
    gad7: Sequence[Scored] = ()
    asq_positive: Sequence[datetime] = ()
    reminders: Sequence[datetime] = ()
    completed: Sequence[datetime] = ()
    overdue: Sequence[tuple[int, str]] = ()


@dataclass(frozen=True)
class Reason:
    """One reason a student is on the list."""

    kind: str
    at: datetime | None
    detail: dict[str, int | str] = field(default_factory=dict)


def rise(scores: Sequence[Scored], rules: WatchRules, now: datetime) -> Reason | None:
    """The largest recent rise of ``rules.rise`` points or more, if any."""
    ordered = sorted(scores)
    best: tuple[int, datetime, int, int] | None = None
    for i, (at, score) in enumerate(ordered):
        if i == 0 or at < now - rules.recent or at > now:
            continue
        earlier = [s for when, s in ordered[:i] if when >= at - rules.rise_window]
        earlier.append(ordered[i - 1][1])  # the previous check-in, however long ago
        low = min(earlier)
        if score - low >= rules.rise and (best is None or score - low > best[0]):
            best = (score - low, at, low, score)
    if best is None:
        return None
    return Reason("rise", best[1], {"from": best[2], "to": best[3]})


def silence_after_asq(history: History, rules: WatchRules, now: datetime) -> Reason | None:
    """Weekly reminders left unanswered since the latest positive ASQ."""
    positives = [at for at in history.asq_positive if now - rules.asq_window <= at <= now]
    if not positives:
        return None
    since = max(positives)
    answered = [at for at in history.completed if since <= at <= now]
    if answered:
        since = max(answered)
    missed = [at for at in history.reminders if since < at <= now - rules.grace]
    if len(missed) < rules.missed:
        return None
    return Reason("missed_after_asq", max(positives), {"missed": len(missed)})


def reasons(history: History, rules: WatchRules, now: datetime) -> list[Reason]:
    """Every reason this student is on the watch list (empty: not on it)."""
    found: list[Reason] = []
    for name, scores in (("phq9", history.phq9), ("gad7", history.gad7)):
        up = rise(scores, rules, now)
        if up is not None:
            found.append(Reason(f"{name}_rise", up.at, up.detail))
    silent = silence_after_asq(history, rules, now)
    if silent is not None:
        found.append(silent)
    for case_id, kind in history.overdue:
        found.append(Reason(f"overdue_{kind}", None, {"case": case_id}))
    return found
