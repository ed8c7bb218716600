"""An invented district for the reports: schools, pupils and a year of weekly check-ins.

``build(engine, Shape(...), end=...)`` fills a migrated, empty database with bulk Core
inserts (explicit ids, like bench/district.py): schools with a counselor each and a district
crisis team, classes in grades 3-12, students (a few under 14 without guardian consent), and
for every week up to ``end`` a Friday reminder, check-in starts and completions with mood,
PHQ-2/GAD-2 (PHQ-9/GAD-7 after a positive screen, on a drifting per-pupil level so some
scores climb) or the younger pupils' mood check, the odd positive ASQ, detector flags, and
green-channel cases with their events (acknowledgements after a few minutes, some timeouts,
referrals, follow-ups left overdue), counselors' marks and some failed deliveries.

Nothing here is real; names are 学生N. ``bench/reports.py`` measures on it and
``tests/reports`` checks the report's figures against direct SQL on a small one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bootstrap import policies
from bot.config.settings import load_settings
from storage.models import (
    AlertMark,
    Case,
    CaseEvent,
    CheckinResult,
    CheckinStart,
    Counselor,
    CounselorSchool,
    Notification,
    ReminderDelivery,
    RiskAssessmentRecord,
    School,
    SchoolClass,
    Student,
)

SEQUENCED = (
    "schools",
    "classes",
    "students",
    "counselors",
    "reminder_deliveries",
    "checkin_starts",
    "checkin_results",
    "risk_assessments",
    "cases",
    "case_events",
    "alert_marks",
    "notifications",
)
PHQ9 = ((20, "severe"), (15, "moderately_severe"), (10, "moderate"), (5, "mild"), (0, "minimal"))
GAD7 = ((15, "severe"), (10, "moderate"), (5, "mild"), (0, "minimal"))


@dataclass(frozen=True)
class Shape:
    """How big: schools, students and weeks of history."""

    schools: int = 20
    students: int = 10_000
    weeks: int = 52
    seed: int = 7


def _band(score: int, bands: tuple[tuple[int, str], ...]) -> str:
    return next(name for floor, name in bands if score >= floor)


async def bulk(engine: AsyncEngine, model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows with Core executemany, 20,000 per transaction."""
    table: Table = model.__table__
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= 20_000:
            async with engine.begin() as conn:
                await conn.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        async with engine.begin() as conn:
            await conn.execute(insert(table), batch)
        count += len(batch)
    return count


class _Ids:
    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def take(self, table: str) -> int:
        self.last[table] = self.last.get(table, 0) + 1
        return self.last[table]


async def build(engine: AsyncEngine, shape: Shape, *, end: datetime) -> dict[str, int]:
    """The district, its last week ending at ``end`` (a Monday 00:00 local, in UTC)."""
    rng, ids = random.Random(shape.seed), _Ids()
    start = end - timedelta(weeks=shape.weeks)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SEQUENCED}
    rows.pop("counselors")
    for n in range(shape.schools):
        rows["schools"].append(
            {
                "id": ids.take("schools"),
                "code": f"R{n:02d}",
                "name": f"第{n + 1}实验学校",
                "timezone": "Asia/Shanghai",
                "created_at": start,
            }
        )
    classes_per_school = max(10, shape.students // shape.schools // 45)
    for school in range(1, shape.schools + 1):
        for c in range(classes_per_school):
            grade = 3 + c % 10
            rows["classes"].append(
                {
                    "id": ids.take("classes"),
                    "school_id": school,
                    "name": f"{grade}年级{c}班",
                    "grade": grade,
                    "created_at": start,
                }
            )
    level: dict[int, float] = {}
    base: dict[int, float] = {}
    for sid in range(1, shape.students + 1):
        klass = rows["classes"][(sid - 1) % len(rows["classes"])]
        grade = klass["grade"]
        rows["students"].append(
            {
                "id": ids.take("students"),
                "school_id": klass["school_id"],
                "class_id": klass["id"],
                "student_number": f"S{sid:05d}",
                "display_name": f"学生{sid}",
                "grade": grade,
                "birth_year": end.year - grade - 6,
                "language": "zh",
                "consent_at": start,
                "guardian_consent": rng.random() > 0.03,
                "onboarded": True,
                "anonymous": False,
                "reminder_opt_in": True,
                "status": "active",
                "created_at": start,
            }
        )
        level[sid] = base[sid] = rng.choice((1, 2, 3, 4, 6, 9, 12))
    chain = policies(load_settings(None, {}))["urgent"].to_json()
    open_case: dict[int, datetime | None] = {}
    for week in range(shape.weeks):
        friday = start + timedelta(weeks=week, days=4, hours=8, minutes=30)  # 16:30 Shanghai
        for student in rows["students"]:
            _week(rng, ids, rows, student, friday, (level, base), chain, open_case, end)
    counts = {}
    models = {
        "schools": School,
        "classes": SchoolClass,
        "students": Student,
        "reminder_deliveries": ReminderDelivery,
        "checkin_starts": CheckinStart,
        "checkin_results": CheckinResult,
        "risk_assessments": RiskAssessmentRecord,
        "cases": Case,
        "case_events": CaseEvent,
        "alert_marks": AlertMark,
        "notifications": Notification,
    }
    for name, model in list(models.items())[:3]:
        counts[name] = await bulk(engine, model, rows[name])
    async with engine.begin() as conn:
        counselors = [
            {
                "id": n,
                "name": f"咨询师{n}",
                "role": "school_counselor",
                "scope": "school",
                "active": True,
                "created_at": start,
            }
            for n in range(1, shape.schools + 1)
        ] + [
            {
                "id": shape.schools + 1,
                "name": "区危机干预",
                "role": "district_crisis",
                "scope": "district",
                "active": True,
                "created_at": start,
            }
        ]
        await conn.execute(insert(Counselor.__table__), counselors)  # type: ignore[arg-type]
        await conn.execute(
            insert(CounselorSchool.__table__),  # type: ignore[arg-type]
            [{"counselor_id": n, "school_id": n} for n in range(1, shape.schools + 1)],
        )
    for name, model in list(models.items())[3:]:
        counts[name] = await bulk(engine, model, rows[name])
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in SEQUENCED:
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
        await conn.execute(text("ANALYZE"))
    return counts


def _week(
    rng: random.Random,
    ids: _Ids,
    rows: dict[str, list[dict[str, Any]]],
    student: dict[str, Any],
    friday: datetime,
    drift: tuple[dict[int, float], dict[int, float]],
    chain: dict[str, Any],
    open_case: dict[int, datetime | None],
    end: datetime,
) -> None:
    sid, grade = student["id"], student["grade"]
    level, base = drift
    # A level that wanders and is pulled back: some pupils climb for a few weeks.
    moved = level[sid] + 0.2 * (base[sid] - level[sid]) + rng.gauss(0.0, 1.8)
    level[sid] = min(27.0, max(0.0, moved))
    failed = rng.random() < 0.01
    rows["reminder_deliveries"].append(
        {
            "id": ids.take("reminder_deliveries"),
            "student_id": sid,
            "kind": "weekly",
            "slot": f"weekly:{friday:%G-W%V}",
            "status": "failed" if failed else "sent",
            "claimed_at": friday,
            "sent_at": None if failed else friday,
            "error": "timeout" if failed else None,
        }
    )
    if failed or rng.random() > 0.7:
        return
    began = friday + timedelta(minutes=rng.randint(1, 600))
    rows["checkin_starts"].append(
        {"id": ids.take("checkin_starts"), "student_id": sid, "created_at": began}
    )
    if rng.random() < 0.12:
        return  # started, never finished
    done = began + timedelta(minutes=rng.randint(2, 15))

    def result(instrument: str, score: int | None, band: str) -> None:
        rows["checkin_results"].append(
            {
                "id": ids.take("checkin_results"),
                "student_id": sid,
                "instrument": instrument,
                "answers": [],
                "score": score,
                "band": band,
                "created_at": done,
            }
        )

    result("mood", 3, "okay")
    flagged = None
    if grade <= 6:
        score = rng.randint(0, 6)
        result("mood_check", score, "struggling" if score >= 4 else "well")
    else:
        phq = round(level[sid] + rng.gauss(0, 1.5))
        phq = min(27, max(0, phq))
        gad = min(21, max(0, round(level[sid] * 0.8 + rng.gauss(0, 2))))
        result("phq2", min(6, phq // 4), "positive" if phq >= 8 else "negative")
        if phq >= 8:
            result("phq9", phq, _band(phq, PHQ9))
        result("gad2", min(6, gad // 3), "positive" if gad >= 8 else "negative")
        if gad >= 8:
            result("gad7", gad, _band(gad, GAD7))
        if phq >= 15 and rng.random() < 0.5:
            band = "acute_positive" if rng.random() < 0.15 else "non_acute_positive"
            result("asq", None, band if rng.random() < 0.6 else "negative")
            if band == "acute_positive":
                flagged = ("emergency", "asq_acute_positive", None)
        if phq >= 20 and flagged is None:
            flagged = ("routine", "checkin_score", None)
    if rng.random() < 0.004:
        level_name = rng.choice(("moderate", "moderate", "high", "imminent"))
        aid = ids.take("risk_assessments")
        rows["risk_assessments"].append(
            {
                "id": aid,
                "message_id": None,
                "student_id": sid,
                "level": level_name,
                "categories": ["suicide_ideation"],
                "evidence": [],
                "explanation": "",
                "detector_version": "bench-1",
                "created_at": done,
            }
        )
        priority = {"moderate": "routine", "high": "urgent", "imminent": "emergency"}
        flagged = (priority[level_name], f"risk_{level_name}", aid)
    busy = sid in open_case and (open_case[sid] is None or open_case[sid] > done)  # type: ignore[operator]
    if flagged is not None and not busy:
        _case(rng, ids, rows, student, done, flagged, chain, open_case, end)


def _case(
    rng: random.Random,
    ids: _Ids,
    rows: dict[str, list[dict[str, Any]]],
    student: dict[str, Any],
    at: datetime,
    flagged: tuple[str, str, int | None],
    chain: dict[str, Any],
    open_case: dict[int, datetime | None],
    end: datetime,
) -> None:
    priority, reason, assessment = flagged
    cid = ids.take("cases")
    ack_after = timedelta(minutes=rng.expovariate(1 / 9))
    acked = rng.random() < 0.95
    lasts = timedelta(days=rng.randint(1, 30))
    closed = at + lasts if at + lasts < end - timedelta(days=2) else None
    referred = at + timedelta(hours=6) if rng.random() < 0.1 else None
    rows["cases"].append(
        {
            "id": cid,
            "student_id": student["id"],
            "school_id": student["school_id"],
            "priority": priority,
            "status": "resolved"
            if closed
            else ("referred" if referred else "acknowledged" if acked else "open"),
            "resolution": "safe" if closed else None,
            "reason": reason,
            "categories": [],
            "chain": chain,
            "step_index": 0,
            "round": 0,
            "token": 1,
            "acknowledged_at": at + ack_after if acked else None,
            "referred_at": referred,
            "closed_at": closed,
            "assessment_id": assessment,
            "created_at": at,
            "updated_at": at,
        }
    )
    open_case[student["id"]] = closed

    def event(when: datetime, actor: str, action: str, **details: Any) -> None:
        rows["case_events"].append(
            {
                "id": ids.take("case_events"),
                "case_id": cid,
                "at": when,
                "actor": actor,
                "action": action,
                "details": details,
            }
        )

    event(at, "system", "opened", priority=priority, reason=reason)
    event(at, "system", "notified", tiers=["school"], recipients=1, step=0, round=0)
    if ack_after > timedelta(minutes=10) or not acked:
        event(
            at + timedelta(minutes=10),
            "system",
            "notified",
            tiers=["district"],
            recipients=1,
            step=1,
            round=0,
        )
    counselor = f"counselor:{student['school_id']}"
    if acked:
        event(at + ack_after, counselor, "ack")
        event(at + ack_after + timedelta(minutes=30), counselor, "contacted")
    if referred is not None:
        event(referred, counselor, "refer")
    if closed is not None:
        event(closed, counselor, "resolve", resolution="safe")
    if assessment is not None and rng.random() < 0.7:
        rows["alert_marks"].append(
            {
                "id": ids.take("alert_marks"),
                "case_id": cid,
                "assessment_id": assessment,
                "counselor_id": None,
                "actor": counselor,
                "mark": "confirmed" if rng.random() < 0.6 else "false_alarm",
                "level": reason.removeprefix("risk_"),
                "categories": [],
                "detector_version": "bench-1",
                "created_at": at + timedelta(hours=2),
            }
        )
    dead = rng.random() < 0.03
    rows["notifications"].append(
        {
            "id": ids.take("notifications"),
            "case_id": cid,
            "idempotency_key": f"case:{cid}:t1:r0s0:c0",
            "kind": "alert",
            "recipient_type": "counselor",
            "recipient_id": student["school_id"],
            "contact_rank": 0,
            "channel": "email",
            "address": "x@example.invalid",
            "tier": "school",
            "token": 1,
            "status": "dead" if dead else "sent",
            "attempts": 1,
            "next_attempt_at": at,
            "extra": {},
            "created_at": at,
            "sent_at": None if dead else at + timedelta(seconds=3),
        }
    )
