"""Roster import: every bad row named by line, nothing half-imported, GBK files understood."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import UsageError
from bot.services import admin, roster_import
from storage.models import AuditEvent, SchoolClass, Student

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
HEADER = "school,class,grade,student_number,name,guardian_consent\n"
# Invented pupils; no real student data lives in this repository.
GOOD = HEADER + (
    "BB01,初一(1)班,7,S001,王小明,yes\n"
    "BB01,初一(1)班,7,S002,李小红,no\n"
    "BB01,五年级2班,5,S003,张小华,是\n"
)


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await admin.add_school(
            session,
            code="BB01",
            name="北碚示例中学",
            timezone="Asia/Shanghai",
            now=NOW,
            actor="test",
        )


async def run(
    sessions: async_sessionmaker[AsyncSession], raw: bytes, **kwargs: object
) -> roster_import.ImportReport:
    async with sessions() as session, session.begin():
        report = await roster_import.import_roster(session, raw, now=NOW, actor="test", **kwargs)  # type: ignore[arg-type]
        if report.problems and not kwargs.get("skip_bad_rows"):
            await session.rollback()
    return report


async def count_students(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count(Student.id))) or 0)


async def test_good_roster_imports_students_and_creates_classes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    report = await run(sessions, GOOD.encode())
    assert report.problems == []
    assert (report.imported, report.classes_created) == (3, 2)
    async with sessions() as session:
        students = (await session.scalars(select(Student).order_by(Student.student_number))).all()
        assert [s.guardian_consent for s in students] == [True, False, True]
        assert {s.status for s in students} == {"pending"}
        grades = (
            await session.scalars(select(SchoolClass.grade).order_by(SchoolClass.grade))
        ).all()
        assert list(grades) == [5, 7]


async def test_gbk_file_from_excel_is_detected(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    report = await run(sessions, GOOD.encode("gbk"))
    assert report.encoding == "gbk"
    assert report.imported == 3
    async with sessions() as session:
        names = set((await session.scalars(select(Student.display_name))).all())
    assert "王小明" in names


async def test_chinese_headers_and_utf8_bom(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    text = "\ufeff学校,班级,年级,学号,姓名,监护人同意\nBB01,初二1班,8,T1,赵小刚,否\n"
    report = await run(sessions, text.encode("utf-8"))
    assert (report.problems, report.imported) == ([], 1)


async def test_bad_rows_are_all_reported_and_nothing_is_imported(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    raw = (
        GOOD + "XX99,一班,7,S010,某某,yes\n"  # line 5: unknown school
        "BB01,初一(1)班,seven,S011,某某,yes\n"  # line 6: grade
        "BB01,初一(1)班,7,S001,重复,yes\n"  # line 7: duplicate of line 2
        "BB01,初一(1)班,7,S012,某某,maybe\n"  # line 8: consent
        "BB01,初一(1)班,8,S013,某某,yes\n"
    ).encode()  # line 9: class grade mismatch
    report = await run(sessions, raw)
    assert [p.split(":")[0] for p in report.problems] == [
        "line 5",
        "line 6",
        "line 7",
        "line 8",
        "line 9",
    ]
    assert "unknown school 'XX99'" in report.problems[0]
    assert "first on line 2" in report.problems[2]
    assert "is grade 7, not 8" in report.problems[4]
    assert await count_students(sessions) == 0


async def test_skip_bad_rows_imports_the_rest(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    raw = (GOOD + "XX99,一班,7,S010,某某,yes\n").encode()
    report = await run(sessions, raw, skip_bad_rows=True)
    assert report.imported == 3
    assert len(report.problems) == 1
    assert await count_students(sessions) == 3


async def roster_of(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[object, ...]]:
    """number -> (name, class, grade, consent, status)."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                Student.student_number,
                Student.display_name,
                SchoolClass.name,
                Student.grade,
                Student.guardian_consent,
                Student.status,
            ).join(SchoolClass, Student.class_id == SchoolClass.id)
        )
        return {number: tuple(rest) for number, *rest in rows.all()}


async def set_status(sessions: async_sessionmaker[AsyncSession], number: str, status: str) -> None:
    async with sessions.begin() as session:
        student = await session.scalar(select(Student).where(Student.student_number == number))
        assert student is not None
        student.status = status


async def test_reimport_updates_pending_students_and_audits_each_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    await run(sessions, GOOD.encode())
    again = HEADER + (
        "BB01,初一(2)班,7,S001,王晓明,yes\n"  # line 2: name and class
        "BB01,初一(1)班,7,S002,李小红,yes\n"  # line 3: the guardian consented
        "BB01,五年级2班,5,S003,张小华,是\n"  # line 4: as before
        "BB01,初一(1)班,7,S004,刘小军,no\n"  # line 5: new
    )
    report = await run(sessions, again.encode())
    assert report.problems == []
    assert (report.imported, report.updated, report.unchanged) == (1, 2, 1)
    assert report.classes_created == 1
    assert report.lines() == [
        "line 2: S001 (BB01, pending): name 王小明 → 王晓明; class 初一(1)班 → 初一(2)班",
        "line 3: S002 (BB01, pending): guardian consent no → yes",
    ]
    roster = await roster_of(sessions)
    assert roster["S001"] == ("王晓明", "初一(2)班", 7, True, "pending")
    assert roster["S002"] == ("李小红", "初一(1)班", 7, True, "pending")
    assert roster["S004"] == ("刘小军", "初一(1)班", 7, False, "pending")
    async with sessions() as session:
        updates = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "student_roster_updated")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [u.details["fields"] for u in updates] == [["name", "class"], ["guardian consent"]]
    assert all("王" not in str(u.details) for u in updates)  # field names, never the values


async def test_enrolled_students_follow_the_roster_except_their_consent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    await run(sessions, GOOD.encode())
    await set_status(sessions, "S001", "active")
    again = HEADER + "BB01,初二(1)班,8,S001,王晓明,no\n"
    report = await run(sessions, again.encode())
    assert (report.updated, report.updated_enrolled) == (1, 1)
    [line] = report.lines()
    assert line.startswith(
        "line 2: S001 (BB01, enrolled): name 王小明 → 王晓明; class 初一(1)班 → 初二(1)班; "
        "grade 7 → 8; guardian consent stays yes (the roster says no)"
    )
    assert "heartguard students consent S001 --school BB01 --withdraw" in line
    assert (await roster_of(sessions))["S001"] == ("王晓明", "初二(1)班", 8, True, "active")


async def test_erased_students_are_left_alone(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    await run(sessions, GOOD.encode())
    await set_status(sessions, "S002", "deleted")
    report = await run(sessions, (HEADER + "BB01,初一(1)班,7,S002,别人,yes\n").encode())
    assert report.problems == []
    [line] = report.lines()
    assert line.startswith("line 2: S002 in BB01 was erased on request; left as they are")
    assert (await roster_of(sessions))["S002"] == ("李小红", "初一(1)班", 7, False, "deleted")


async def test_a_bad_row_stops_the_updates_too(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    await run(sessions, GOOD.encode())
    again = HEADER + "BB01,初一(1)班,7,S001,王晓明,yes\nBB01,五年级2班,6,S003,张小华,是\n"
    report = await run(sessions, again.encode())
    assert report.problems == ["line 3: class '五年级2班' is grade 5, not 6"]
    assert (await roster_of(sessions))["S001"][0] == "王小明"
    report = await run(sessions, again.encode(), skip_bad_rows=True)
    assert (report.updated, len(report.problems)) == (1, 1)
    assert (await roster_of(sessions))["S001"][0] == "王晓明"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"name,grade\nx,1\n", "missing column(s) school, class, student_number"),
        (b"\xff\xfe\x00\xd8\x00" * 3 + b"\x81", "not valid UTF-16"),
        (b"school\xff\xff\xff,\x80\x80\n", "neither UTF-8 nor GBK"),
    ],
)
def test_unusable_files_get_one_clear_error(raw: bytes, message: str) -> None:
    def load() -> None:
        text, _ = roster_import.decode(raw)
        roster_import.parse(text)

    with pytest.raises(UsageError, match=re.escape(message)):
        load()


def test_broken_lines_are_named_and_the_rest_is_read() -> None:
    long_name = "长" * 200_000
    text = HEADER + (
        f"BB01,初一(1)班,7,S001,{long_name},yes\n"  # line 2: over the field limit
        'BB01,初一(1)班,7,S002,"李"小红,no\n'  # line 3: a stray quote
        "BB01,初一(1)班,7,S003,张\x00小华,no\n"  # line 4: a NUL byte
        "BB01,初一(1)班,7,S004\n"  # line 5: cells missing
        "BB01,初一(1)班,7,S005,赵小刚,no\n"  # line 6: good
    )
    rows, problems = roster_import.parse(text)
    assert [row.student_number for row in rows] == ["S005"]
    assert problems == [
        "line 2: not readable as CSV (field larger than field limit (131072)); check its "
        "quotes and those of the lines before it",
        "line 3: not readable as CSV (',' expected after '\"'); check its quotes and those of "
        "the lines before it",
        "line 4: name contains a control character",
        "line 5: 4 cell(s), the header names 6",
    ]
