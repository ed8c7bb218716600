"""Import a school's CSV roster: new students added, known ones updated, bad rows named."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UsageError
from bot.translation import _
from storage.audit import audit
from storage.models import School, SchoolClass, Student

# Header spellings seen in the wild, English and Chinese, mapped to our field names.
HEADERS = {
    "school": "school", "学校": "school", "学校代码": "school",
    "class": "class", "班级": "class",
    "grade": "grade", "年级": "grade",
    "student_number": "student_number", "student number": "student_number",
    "学号": "student_number", "number": "student_number",
    "name": "name", "姓名": "name", "display_name": "name",
    "guardian_consent": "guardian_consent", "guardian consent": "guardian_consent",
    "监护人同意": "guardian_consent", "家长同意": "guardian_consent",
    "birth_year": "birth_year", "出生年份": "birth_year",
}  # fmt: skip
REQUIRED = ("school", "class", "grade", "student_number", "name", "guardian_consent")
YES = {"yes", "y", "true", "1", "是", "有", "同意"}
NO = {"no", "n", "false", "0", "否", "无", "不同意", ""}


@dataclass(frozen=True)
class RosterRow:
    """A validated roster line."""

    line: int
    school: str
    class_name: str
    grade: int
    student_number: str
    name: str
    guardian_consent: bool
    birth_year: int | None


@dataclass(frozen=True)
class RowChange:
    """What a roster line changed (or would change) for a student already on the roster."""

    line: int
    school: str
    student_number: str
    enrolled: bool
    fields: tuple[tuple[str, str, str], ...]  # (field, before, after)
    note: str = ""

    def describe(self) -> str:
        """One line for the administrator, e.g. ``line 3: S001 (BB01, pending): class A → B``."""
        state = "enrolled" if self.enrolled else "pending"
        parts = [f"{name} {before} → {after}" for name, before, after in self.fields]
        if self.note:
            parts.append(self.note)
        return f"line {self.line}: {self.student_number} ({self.school}, {state}): " + "; ".join(
            parts
        )


@dataclass
class ImportReport:
    """What an import did, or would have done."""

    encoding: str
    rows: int = 0
    imported: int = 0
    updated: int = 0
    updated_enrolled: int = 0
    unchanged: int = 0
    classes_created: int = 0
    problems: list[str] = field(default_factory=list)
    changes: list[RowChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Every change and note, one line each, in file order."""
        return sorted([c.describe() for c in self.changes] + self.notes, key=_line_of)


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode roster bytes: UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030.

    Excel in Chinese Windows saves CSV as GBK, so that is tried after UTF-8 fails.

    Raises:
        UsageError: when the bytes are none of these.
    """
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise UsageError(
                _("{encoding!r} is not a known text encoding").format(encoding=encoding)
            ) from None
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"the file is not {encoding} text (byte {exc.start + 1} cannot be read as "
                f"{encoding}); leave out --encoding to have it detected"
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise UsageError(
                "the file starts like UTF-16 but is not valid UTF-16; save it from Excel as "
                '"CSV UTF-8"'
            ) from None
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gbk"
    except UnicodeDecodeError:
        raise UsageError(
            "the file is neither UTF-8 nor GBK text; save it from Excel as "
            '"CSV UTF-8" or pass --encoding'
        ) from None


def parse(text: str) -> tuple[list[RosterRow], list[str]]:
    """Validate every line; return the good rows and one problem per bad line."""
    if not text.strip():
        raise UsageError("the file is empty")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    # strict: a stray quote is a bad line, not a field that swallows the lines after it.
    reader = csv.reader(io.StringIO(text), dialect, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise UsageError(f"line 1: not readable as CSV ({exc})") from None
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = HEADERS.get(name.strip().lower())
        if key and key not in columns:
            columns[key] = index
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise UsageError(
            "line 1: missing column(s) "
            + ", ".join(missing)
            + f"; expected a header with {', '.join(REQUIRED)}"
        )
    rows: list[RosterRow] = []
    problems: list[str] = []
    first_seen: dict[tuple[str, str], int] = {}
    needed = max(columns[name] for name in REQUIRED) + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader has consumed the bad line (or the rest of the file, for a quote
            # never closed) and goes on with the next one.
            problems.append(
                f"line {reader.line_num}: not readable as CSV ({exc}); check its quotes "
                "and those of the lines before it"
            )
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) < needed:
            problems.append(f"line {line}: {len(record)} cell(s), the header names {needed}")
            continue
        try:
            row = _row(line, record, columns)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        seen_key = (row.school, row.student_number)
        if seen_key in first_seen:
            problems.append(
                f"line {line}: duplicate student number {row.student_number!r} "
                f"(first on line {first_seen[seen_key]})"
            )
            continue
        first_seen[seen_key] = line
        rows.append(row)
    if not rows and not problems:
        raise UsageError(_("the file has a header but no students: nothing to import"))
    return rows, problems


def _row(line: int, record: list[str], columns: dict[str, int]) -> RosterRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return record[index].strip() if index is not None and index < len(record) else ""

    for name in ("school", "class", "student_number", "name"):
        if not cell(name):
            raise ValueError(f"{name} is empty")
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in cell(name)):
            # A NUL or a line break in a name is a broken file, and PostgreSQL refuses NUL.
            raise ValueError(f"{name} contains a control character")
    try:
        grade = int(cell("grade"))
    except ValueError:
        raise ValueError(f"grade {cell('grade')!r} is not a number from 1 to 12") from None
    if not 1 <= grade <= 12:
        raise ValueError(f"grade {grade} is not a number from 1 to 12")
    consent = cell("guardian_consent").lower()
    if consent not in YES | NO:
        raise ValueError(f"guardian_consent {cell('guardian_consent')!r}: expected yes or no")
    birth_year = None
    if cell("birth_year"):
        try:
            birth_year = int(cell("birth_year"))
        except ValueError:
            raise ValueError(f"birth_year {cell('birth_year')!r} is not a year") from None
        if not 1990 <= birth_year <= 2100:
            raise ValueError(f"birth_year {birth_year} is out of range")
    if len(cell("name")) > 100 or len(cell("student_number")) > 64:
        raise ValueError("name or student number is too long")
    return RosterRow(
        line=line,
        school=cell("school"),
        class_name=cell("class"),
        grade=grade,
        student_number=cell("student_number"),
        name=cell("name"),
        guardian_consent=consent in YES,
        birth_year=birth_year,
    )


async def import_roster(
    session: AsyncSession,
    raw: bytes,
    *,
    now: datetime,
    actor: str,
    skip_bad_rows: bool = False,
    encoding: str | None = None,
) -> ImportReport:
    """Validate and import a roster inside the caller's transaction.

    A line for a new student number adds a pending student. A line for a number already on
    the roster updates it: a pending student's name, class, grade, birth year and guardian
    consent; an enrolled student's name, class, grade and birth year, but never their consent
    (see ``_update``). A student erased on request is left as they are. Every update is
    audited. With any bad row and ``skip_bad_rows`` false, nothing is written and the report
    lists every problem; the caller commits only when ``report.problems`` is empty or
    skipping was asked for.
    """
    text, used = decode(raw, encoding)
    rows, problems = parse(text)
    report = ImportReport(encoding=used, rows=len(rows) + len(problems), problems=problems)
    schools = await _schools(session, {row.school for row in rows})
    known = [row for row in rows if row.school in schools]
    report.problems.extend(
        f"line {row.line}: unknown school {row.school!r}" for row in rows if row not in known
    )
    existing = await _existing_students(
        session, [(schools[r.school].id, r.student_number) for r in known]
    )
    writes: list[tuple[RosterRow, Student | None]] = []
    for row in known:
        student = existing.get((schools[row.school].id, row.student_number))
        if student is not None and student.status == "deleted":
            report.notes.append(
                f"line {row.line}: {row.student_number} in {schools[row.school].code} was "
                "erased on request; left as they are (to enroll them again: `heartguard "
                f"students remove {row.student_number} --school {schools[row.school].code}`, "
                "then import the row again)"
            )
            continue
        writes.append((row, student))
    classes = await _classes(session, schools.values())
    # A class has one grade: the database's, else the first line that names the class.
    grades = {key: klass.grade for key, klass in classes.items()}
    for row, _unused in writes:
        key = (schools[row.school].id, row.class_name)
        grade = grades.setdefault(key, row.grade)
        if grade != row.grade:
            report.problems.append(
                f"line {row.line}: class {row.class_name!r} is grade {grade}, not {row.grade}"
            )
    report.problems.sort(key=_line_of)
    if report.problems and not skip_bad_rows:
        return report
    bad_lines = {_line_of(p) for p in report.problems}
    class_names = {klass.id: klass.name for klass in classes.values()}
    for row, student in writes:
        if row.line in bad_lines:
            continue
        school = schools[row.school]
        klass = classes.get((school.id, row.class_name))
        if klass is None:
            klass = SchoolClass(
                school_id=school.id, name=row.class_name, grade=row.grade, created_at=now
            )
            session.add(klass)
            await session.flush()
            classes[(school.id, row.class_name)] = klass
            class_names[klass.id] = klass.name
            report.classes_created += 1
        if student is None:
            session.add(
                Student(
                    school_id=school.id,
                    class_id=klass.id,
                    student_number=row.student_number,
                    display_name=row.name,
                    grade=row.grade,
                    birth_year=row.birth_year,
                    guardian_consent=row.guardian_consent,
                    status="pending",
                    created_at=now,
                )
            )
            report.imported += 1
            continue
        change = _update(student, row, klass, class_names, school.code)
        if change is None:
            report.unchanged += 1
            continue
        if change.fields:
            report.updated += 1
            report.updated_enrolled += change.enrolled
            audit(
                session,
                now=now,
                actor=actor,
                action="student_roster_updated",
                subject_type="student",
                subject_id=student.id,
                fields=[name for name, _, _ in change.fields],
                enrolled=change.enrolled,
                line=row.line,
            )
        else:
            report.unchanged += 1
        report.changes.append(change)
    await session.flush()
    audit(
        session,
        now=now,
        actor=actor,
        action="roster_imported",
        subject_type="roster",
        subject_id="-",
        imported=report.imported,
        updated=report.updated,
        unchanged=report.unchanged,
        skipped=len(report.problems),
    )
    return report


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _update(
    student: Student,
    row: RosterRow,
    klass: SchoolClass,
    class_names: dict[int, str],
    school_code: str,
) -> RowChange | None:
    """Bring a student on the roster in line with their row; None when nothing differs.

    A pending student's record is the school's to correct in full. An enrolled student's
    name, class and grade follow the roster too (a new school year moves every class), but
    their guardian consent does not: it decides what they are offered on every message, and
    a re-imported file (often an old export) must never grant or withdraw it unnoticed. That
    change is reported, and made with ``heartguard students consent``.
    """
    enrolled = student.status != "pending"
    fields: list[tuple[str, str, str]] = []
    if student.display_name != row.name:
        fields.append(("name", student.display_name, row.name))
        student.display_name = row.name
    if student.class_id != klass.id:
        before = class_names.get(student.class_id, "-") if student.class_id else "-"
        fields.append(("class", before, klass.name))
        student.class_id = klass.id
    if student.grade != row.grade:
        fields.append(("grade", str(student.grade or "-"), str(row.grade)))
        student.grade = row.grade
    if row.birth_year is not None and student.birth_year != row.birth_year:
        fields.append(("birth year", str(student.birth_year or "-"), str(row.birth_year)))
        student.birth_year = row.birth_year
    note = ""
    if student.guardian_consent != row.guardian_consent:
        if enrolled:
            note = (
                f"guardian consent stays {_yes_no(student.guardian_consent)} (the roster says "
                f"{_yes_no(row.guardian_consent)}); an enrolled student's consent changes only "
                f"with `heartguard students consent {row.student_number} --school {school_code} "
                f"{'--guardian' if row.guardian_consent else '--withdraw'}`"
            )
        else:
            fields.append(
                (
                    "guardian consent",
                    _yes_no(student.guardian_consent),
                    _yes_no(row.guardian_consent),
                )
            )
            student.guardian_consent = row.guardian_consent
    if not fields and not note:
        return None
    return RowChange(row.line, school_code, row.student_number, enrolled, tuple(fields), note)


def _line_of(problem: str) -> int:
    head = problem.split(":", 1)[0]
    return int(head.removeprefix("line ")) if head.startswith("line ") else 0


async def _schools(session: AsyncSession, refs: Iterable[str]) -> dict[str, School]:
    refs = set(refs)
    if not refs:
        return {}
    found = (
        await session.scalars(select(School).where(School.code.in_(refs) | School.name.in_(refs)))
    ).all()
    out: dict[str, School] = {}
    for school in found:
        for ref in (school.code, school.name):
            if ref in refs:
                out[ref] = school
    return out


async def _existing_students(
    session: AsyncSession, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], Student]:
    found: dict[tuple[int, str], Student] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        students = await session.scalars(
            select(Student).where(tuple_(Student.school_id, Student.student_number).in_(chunk))
        )
        for student in students.all():
            if student.school_id is not None and student.student_number is not None:
                found[(student.school_id, student.student_number)] = student
    return found


async def _classes(
    session: AsyncSession, schools: Iterable[School]
) -> dict[tuple[int, str], SchoolClass]:
    ids = {school.id for school in schools}
    if not ids:
        return {}
    found = (await session.scalars(select(SchoolClass).where(SchoolClass.school_id.in_(ids)))).all()
    return {(klass.school_id, klass.name): klass for klass in found}
