"""Roster import: every bad row named by line, nothing half-imported, GBK files understood."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import UsageError
from bot.services import admin, roster_import
from storage.models import SchoolClass, Student

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


async def test_already_enrolled_numbers_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    await run(sessions, GOOD.encode())
    report = await run(sessions, (HEADER + "BB01,初一(1)班,7,S001,王小明,yes\n").encode())
    assert report.problems == ["line 2: student number 'S001' is already enrolled in BB01"]
    assert await count_students(sessions) == 3


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
