"""Administrator commands: database, schools, classes, counselors, students, enrollment."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.bootstrap import open_app, safe_url, upgrade_database
from bot.cli import records
from bot.cli.access import register_password
from bot.cli.arguments import text_encoding
from bot.cli.files import stage_output, write_output
from bot.cli.main import run_async, utcnow
from bot.config.durations import parse_duration
from bot.config.settings import Settings
from bot.errors import HeartGuardError, UsageError
from bot.services import admin, enrollment, roster_edits, roster_import
from bot.services.contacts import CONTACT_CHANNELS, check_contact
from bot.services.one_time_codes import check_ttl
from bot.services.roster_order import roster_key
from bot.translation import _
from core.clock import local_text
from storage import keycheck
from storage.migrate import current_revision, head_revision
from storage.models import SchoolClass, Student
from storage.rotation import rotate_all

ACTOR = "cli:admin"


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_(str(exc))) from None


def _grade(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected a number from 1 to 12")) from None
    if not 1 <= value <= 12:
        raise argparse.ArgumentTypeError(_("expected a number from 1 to 12"))
    return value


def register(commands: Any) -> None:
    """Add the admin command groups."""
    db = commands.add_parser("db", help=_("migrate and maintain the database"))
    dbs = db.add_subparsers(dest="db_command", metavar="ACTION")
    dbs.required = True
    dbs.add_parser("upgrade", help=_("create or migrate the schema (safe to repeat)")).set_defaults(
        handler=run_async(_db_upgrade)
    )
    dbs.add_parser("current", help=_("show the schema revision")).set_defaults(
        handler=run_async(_db_current)
    )
    dbs.add_parser(
        "rotate-key", help=_("re-encrypt stored text under the first HEARTGUARD_DATA_KEY")
    ).set_defaults(handler=run_async(_db_rotate))

    schools = commands.add_parser("schools", help=_("add and list schools"))
    ss = schools.add_subparsers(dest="schools_command", metavar="ACTION")
    ss.required = True
    add = ss.add_parser("add", help=_("add a school"))
    add.add_argument("code", help=_("short unique code, e.g. BB-SY01"))
    add.add_argument("name", help=_("full name, e.g. 北碚实验中学"))
    add.add_argument("--timezone", default=None, help=_("IANA zone (default from config)"))
    add.set_defaults(handler=run_async(_schools_add))
    ss.add_parser("list", help=_("list schools")).set_defaults(handler=run_async(_schools_list))

    classes = commands.add_parser("classes", help=_("add and list classes"))
    cs = classes.add_subparsers(dest="classes_command", metavar="ACTION")
    cs.required = True
    cadd = cs.add_parser("add", help=_("add a class to a school"))
    cadd.add_argument("school", help=_("school code or name"))
    cadd.add_argument("name", help=_("class name, e.g. 初二(3)班"))
    cadd.add_argument("--grade", type=_grade, required=True, help=_("grade 1-12"))
    cadd.set_defaults(handler=run_async(_classes_add))
    clist = cs.add_parser("list", help=_("list classes"))
    clist.add_argument("--school", help=_("only this school"))
    clist.set_defaults(handler=run_async(_classes_list))

    counselors = commands.add_parser("counselors", help=_("add and list counselors"))
    cos = counselors.add_subparsers(dest="counselors_command", metavar="ACTION")
    cos.required = True
    coadd = cos.add_parser("add", help=_("add a counselor"))
    coadd.add_argument("name")
    coadd.add_argument("--role", required=True, choices=admin.ROLES)
    coadd.add_argument("--school", action="append", default=[], help=_("school code (repeatable)"))
    for channel in CONTACT_CHANNELS:
        coadd.add_argument(
            f"--{channel}", metavar="ADDRESS", help=_("{channel} contact").format(channel=channel)
        )
    coadd.add_argument(
        "--link-later",
        action="store_true",
        help=_("no contact yet: the counselor links Telegram with `counselors code ID`"),
    )
    coadd.set_defaults(handler=run_async(_counselors_add))
    cos.add_parser("list", help=_("list counselors")).set_defaults(
        handler=run_async(_counselors_list)
    )
    colink = cos.add_parser(
        "code", help=_("a one-time code the counselor sends to the bot as /link CODE")
    )
    colink.add_argument("counselor", type=int, metavar="ID")
    colink.add_argument(
        "--ttl", type=_duration, default=timedelta(hours=24), help=_("validity (default 24h)")
    )
    colink.set_defaults(handler=run_async(_counselors_code))
    for action, help_text in (
        (
            "deactivate",
            "take a counselor off the green channel (never paged; Telegram desk closed)",
        ),
        ("activate", "put a deactivated counselor back on the green channel"),
    ):
        toggle = cos.add_parser(action, help=help_text)
        toggle.add_argument("counselor", type=int, metavar="ID")
        toggle.set_defaults(handler=run_async(_counselors_active), active=action == "activate")
    cocontacts = cos.add_parser(
        "contacts", help=_("add or remove a counselor's contacts (tried in the order shown)")
    )
    cocontacts.add_argument("counselor", type=int, metavar="ID")
    for channel in CONTACT_CHANNELS:
        cocontacts.add_argument(
            f"--{channel}",
            metavar="ADDRESS",
            help=_("add a {channel} contact").format(channel=channel),
        )
    cocontacts.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="CHANNEL:ADDRESS",
        help=_("remove a contact, e.g. email:old@school.cn (repeatable)"),
    )
    cocontacts.add_argument("--first", action="store_true", help=_("try the new contacts first"))
    cocontacts.set_defaults(handler=run_async(_counselors_contacts))
    register_password(cos)

    students = commands.add_parser("students", help=_("import and list students"))
    sts = students.add_subparsers(dest="students_command", metavar="ACTION")
    sts.required = True
    imp = sts.add_parser(
        "import",
        help=_(
            "import a CSV roster (school, class, grade, student_number, name, guardian_consent)"
        ),
    )
    imp.add_argument("file", help=_("CSV file (UTF-8 or GBK)"))
    imp.add_argument("--skip-bad-rows", action="store_true", help=_("import the good rows anyway"))
    imp.add_argument("--encoding", type=text_encoding, help=_("force a text encoding, e.g. gbk"))
    imp.add_argument("--dry-run", action="store_true", help=_("validate only"))
    imp.set_defaults(handler=run_async(_students_import))
    consent = sts.add_parser(
        "consent", help=_("record a guardian's consent that arrived after the roster import")
    )
    consent.add_argument("student_number", metavar="NUMBER", help=_("student number, e.g. S001"))
    consent.add_argument("--school", required=True, help=_("school code or name"))
    given = consent.add_mutually_exclusive_group(required=True)
    given.add_argument("--guardian", action="store_true", help=_("the guardian consented"))
    given.add_argument("--withdraw", action="store_true", help=_("the guardian withdrew consent"))
    consent.set_defaults(handler=run_async(_students_consent))
    move = sts.add_parser("move", help=_("put a student in another class of their school"))
    move.add_argument("student_number", metavar="NUMBER", help=_("student number, e.g. S001"))
    move.add_argument("--school", required=True, help=_("school code or name"))
    move.add_argument("--class", dest="class_name", required=True, help=_("a class of that school"))
    move.set_defaults(handler=run_async(_students_move))
    remove = sts.add_parser(
        "remove",
        help=_("take a student off the roster (pending: deleted; enrolled: erased like /delete)"),
    )
    remove.add_argument("student_number", metavar="NUMBER", help=_("student number, e.g. S001"))
    remove.add_argument("--school", required=True, help=_("school code or name"))
    remove.set_defaults(handler=run_async(_students_remove))
    slist = sts.add_parser("list", help=_("list a school's students"))
    slist.add_argument("--school", required=True)
    slist.set_defaults(handler=run_async(_students_list))
    records.register_students(sts)

    codes_parser = commands.add_parser("codes", help=_("issue and export enrollment codes"))
    cds = codes_parser.add_subparsers(dest="codes_command", metavar="ACTION")
    cds.required = True
    issue = cds.add_parser("issue", help=_("issue one-time codes for a school, class or student"))
    issue.add_argument("--school", required=True)
    issue.add_argument("--class", dest="class_name", help=_("only this class"))
    issue.add_argument("--student", dest="student_number", help=_("only this student number"))
    issue.add_argument("--ttl", type=_duration, help=_("validity, e.g. 14d (default from config)"))
    issue.add_argument(
        "--include-enrolled", action="store_true", help=_("also students already linked to a chat")
    )
    issue.add_argument("--out", help=_("write the CSV here (default: stdout)"))
    issue.set_defaults(handler=run_async(_codes_issue))
    export = cds.add_parser("export", help=_("export a school's live codes as CSV"))
    export.add_argument("--school", required=True)
    export.add_argument("--out", help=_("write the CSV here (default: stdout)"))
    export.set_defaults(handler=run_async(_codes_export))


async def _db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings, need_schema=False) as app:
        before, after = await upgrade_database(app, utcnow())
    url = safe_url(settings.database.url)
    if before == after:
        print(_("ok: {url} is already at {after}").format(url=url, after=after))
    else:
        print(
            _("ok: migrated {url} from {before} to {after}").format(
                url=url, before=before or _("empty"), after=after
            )
        )
    return 0


async def _db_current(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings, need_schema=False) as app:
        current = await current_revision(app.engine)
    print(f"{current or 'empty'} (code expects {head_revision()})")
    return 0


async def _db_rotate(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app:
        count = await rotate_all(app.sessions, app.cipher)
        # Only once every value is under the first key: processes still on the old one refuse.
        async with app.sessions.begin() as session:
            await keycheck.rotated(session, app.cipher, utcnow())
    print(_("ok: re-encrypted {count} value(s) under the first key").format(count=count))
    if app.cipher.key_count > 1:
        print(_("the old key(s) can now be removed from HEARTGUARD_DATA_KEY"))
    return 0


async def _schools_add(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        school = await admin.add_school(
            session,
            code=args.code,
            name=args.name,
            timezone=args.timezone or settings.schools.default_timezone,
            now=utcnow(),
            actor=ACTOR,
        )
        print(_("ok: school {code} ({name})").format(code=school.code, name=school.name))
    return 0


async def _schools_list(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        rows = await admin.list_schools(session)
    for row in rows:
        print(
            f"{row.code}\t{row.name}\t{row.timezone}\t{row.classes} classes\t"
            f"{row.students} students"
        )
    if not rows:
        print(_("no schools yet: heartguard schools add CODE NAME"), file=sys.stderr)
    return 0


async def _classes_add(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        klass = await admin.add_class(
            session,
            school_ref=args.school,
            name=args.name,
            grade=args.grade,
            now=utcnow(),
            actor=ACTOR,
        )
        print(_("ok: class {name} (grade {grade})").format(name=klass.name, grade=klass.grade))
    return 0


async def _classes_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        for code, name, grade in await admin.list_classes(session, args.school):
            print(f"{code}\t{name}\tgrade {grade}")
    return 0


async def _counselors_add(args: argparse.Namespace, settings: Settings) -> int:
    # Checked before the database opens: a typo costs nothing.
    contacts = [
        (c, check_contact(c, getattr(args, c)))
        for c in CONTACT_CHANNELS
        if getattr(args, c) is not None
    ]
    if not contacts and not args.link_later:
        raise UsageError(
            _(
                "a counselor needs at least one contact: --telegram, --email, --wecom, "
                "--dingtalk, --webhook or --phone (alerts never go to a phone number); or "
                "--link-later, to link their Telegram with `heartguard counselors code ID`"
            )
        )
    async with open_app(settings) as app, app.sessions.begin() as session:
        counselor = await admin.add_counselor(
            session,
            name=args.name,
            role=args.role,
            school_refs=args.school,
            contacts=contacts,
            now=utcnow(),
            actor=ACTOR,
        )
        print(
            _("ok: counselor #{id} {name} ({role})").format(
                id=counselor.id, name=counselor.name, role=counselor.role
            )
        )
    return 0


async def _counselors_list(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        for ident, name, role, schools, channels in await admin.list_counselors(session):
            print(f"#{ident}\t{name}\t{role}\t{schools}\t{channels}")
    return 0


async def _counselors_code(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import counselor_links

    async with open_app(settings) as app, app.sessions.begin() as session:
        issued = await counselor_links.issue(
            session, args.counselor, ttl=args.ttl, now=utcnow(), actor=ACTOR
        )
    print(
        _("code for counselor #{counselor_id} {counselor_name}: {code}").format(
            counselor_id=issued.counselor_id, counselor_name=issued.counselor_name, code=issued.code
        )
    )
    expires = local_text(issued.expires_at, settings.schools.default_timezone)
    print(_("expires {expires}; single use.").format(expires=expires))
    print(
        _("The counselor sends this to the bot in a private chat: /link {code}").format(
            code=issued.code
        )
    )
    return 0


async def _counselors_active(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        counselor = await admin.set_counselor_active(
            session, args.counselor, active=args.active, now=utcnow(), actor=ACTOR
        )
        state = _("active") if counselor.active else _("inactive")
        print(
            _("ok: counselor #{id} {name} is {state}").format(
                id=counselor.id, name=counselor.name, state=state
            )
        )
    return 0


def _contact_ref(text: str) -> tuple[str, str]:
    channel, sep, address = text.partition(":")
    if not sep:
        raise UsageError(
            _("--remove {text!r}: expected CHANNEL:ADDRESS, e.g. email:a@b.cn").format(text=text)
        )
    return channel.strip(), address


async def _counselors_contacts(args: argparse.Namespace, settings: Settings) -> int:
    add = [
        (c, check_contact(c, getattr(args, c)))
        for c in CONTACT_CHANNELS
        if getattr(args, c) is not None
    ]
    remove = [_contact_ref(ref) for ref in args.remove]
    if not add and not remove:
        raise UsageError(_("nothing to change: give a contact to add (--email …) or --remove"))
    async with open_app(settings) as app, app.sessions.begin() as session:
        contacts = await admin.change_contacts(
            session,
            args.counselor,
            add=add,
            remove=remove,
            first=args.first,
            now=utcnow(),
            actor=ACTOR,
        )
    print(_("ok: counselor #{counselor} contacts, in order:").format(counselor=args.counselor))
    for channel, address in contacts:
        print(f"  {channel}\t{address}")
    return 0


async def _students_import(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    try:
        raw = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise UsageError(
            _("cannot read {path}: {strerror}").format(path=path, strerror=exc.strerror)
        ) from None
    async with open_app(settings) as app, app.sessions() as session, session.begin():
        report = await roster_import.import_roster(
            session,
            raw,
            now=utcnow(),
            actor=ACTOR,
            skip_bad_rows=args.skip_bad_rows,
            encoding=args.encoding,
        )
        refuse = bool(report.problems) and not args.skip_bad_rows
        if refuse or args.dry_run:
            await session.rollback()
    for problem in report.problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if report.encoding != "utf-8":
        print(
            _("note: read {path} as {value}").format(path=path, value=report.encoding.upper()),
            file=sys.stderr,
        )
    if refuse:
        print(
            _(
                "heartguard: error: {problems} bad row(s); nothing imported "
                "(fix them, or pass --skip-bad-rows)"
            ).format(problems=len(report.problems)),
            file=sys.stderr,
        )
        return 1
    for line in report.lines():
        print(f"{path}: {line}")
    summary = _(
        "ok: imported {imported} new student(s), updated {updated}{enrolled}, {unchanged} "
        "unchanged, {classes_created} new class(es), {problems} row(s) skipped"
    )
    if args.dry_run:
        summary = _(
            "ok: would import {imported} new student(s), would update {updated}{enrolled}, "
            "{unchanged} unchanged, {classes_created} new class(es), {problems} row(s) skipped"
        )
    enrolled = (
        _(" ({count} enrolled)").format(count=report.updated_enrolled)
        if report.updated_enrolled
        else ""
    )
    print(
        summary.format(
            imported=report.imported,
            updated=report.updated,
            enrolled=enrolled,
            unchanged=report.unchanged,
            classes_created=report.classes_created,
            problems=len(report.problems),
        )
    )
    return 0


async def _students_consent(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        student = await admin.record_guardian_consent(
            session,
            school_ref=args.school,
            student_number=args.student_number,
            consent=args.guardian,
            now=utcnow(),
            actor=ACTOR,
        )
        state = (
            _("has guardian consent") if student.guardian_consent else _("has no guardian consent")
        )
        print(
            _(
                "ok: {student_number} {display_name} {state} "
                "(from their next message, and on codes issued from now on)"
            ).format(
                student_number=student.student_number,
                display_name=student.display_name,
                state=state,
            )
        )
    return 0


async def _students_move(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        move = await roster_edits.move_student(
            session,
            school_ref=args.school,
            student_number=args.student_number,
            class_name=args.class_name,
            now=utcnow(),
            actor=ACTOR,
        )
    who = f"{move.student_number} {move.name} ({move.school})"
    if not move.changed:
        print(
            _("ok: {who} is already in {after}; nothing changed").format(who=who, after=move.after)
        )
    else:
        print(
            _("ok: {who} moved from {before} to {after} (grade {grade})").format(
                who=who, before=move.before, after=move.after, grade=move.grade
            )
        )
    return 0


async def _students_remove(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        gone = await roster_edits.remove_student(
            session,
            school_ref=args.school,
            student_number=args.student_number,
            now=utcnow(),
            actor=ACTOR,
        )
    who = f"{gone.student_number} {gone.name} ({gone.school})"
    codes = _("{count} unused code(s)").format(count=gone.unused_codes)
    if gone.status_before == "pending":
        print(
            _("ok: removed {who}, who had not enrolled, with {codes}").format(who=who, codes=codes)
        )
    else:
        print(
            _(
                "ok: removed {who}: their messages, check-ins, safety plan and chat link are "
                "erased, with {codes}"
            ).format(who=who, codes=codes)
        )
    if gone.kept_records:
        days = settings.privacy.safety_record_retention_days
        print(
            _(
                "their {kept_records} safety record(s) (risk assessments, case requests, cases) "
                "are kept {days} day(s) from when they were made or closed, then the daily "
                "retention job deletes them with the student's record"
            ).format(kept_records=gone.kept_records, days=days)
        )
    return 0


async def _students_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        school = await admin.school_by_ref(session, args.school)
        rows = await session.execute(
            select(
                Student.student_number,
                Student.display_name,
                SchoolClass.name,
                Student.grade,
                Student.status,
            )
            .join(SchoolClass, Student.class_id == SchoolClass.id, isouter=True)
            # Students taken off the roster (no number) stay only for their safety records.
            .where(Student.school_id == school.id, Student.student_number.is_not(None))
        )
        ordered = sorted(rows.all(), key=lambda row: roster_key(row[3], row[2], row[0]))
        for number, name, klass, grade, status in ordered:
            print(f"{number}\t{name}\t{klass or '-'}\tgrade {grade}\t{status}")
    return 0


async def _codes_issue(args: argparse.Namespace, settings: Settings) -> int:
    ttl = check_ttl(args.ttl or settings.schools.enrollment_code_ttl)
    async with open_app(settings) as app, app.sessions() as session:
        staged = None
        try:
            async with session.begin():
                issued = await enrollment.issue_codes(
                    session,
                    app.cipher,
                    school_ref=args.school,
                    class_name=args.class_name,
                    student_number=args.student_number,
                    ttl=ttl,
                    now=utcnow(),
                    actor=ACTOR,
                    include_enrolled=args.include_enrolled,
                )
                school = await admin.school_by_ref(session, args.school)
                if not issued:
                    raise HeartGuardError(
                        _("no students to issue codes for (all enrolled already?)")
                    )
                # The file first: if it cannot be written, the new codes roll back and the
                # codes teachers already hold stay valid.
                staged = stage_output(args.out, enrollment.to_csv(issued, school.timezone))
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
        staged.publish()
    print(_("ok: issued {value} code(s)").format(value=len(issued)), file=sys.stderr)
    return 0


async def _codes_export(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        live = await enrollment.unused_codes(
            session, app.cipher, school_ref=args.school, now=utcnow()
        )
        school = await admin.school_by_ref(session, args.school)
    write_output(args.out, enrollment.to_csv(live, school.timezone))
    print(_("ok: exported {value} live code(s)").format(value=len(live)), file=sys.stderr)
    return 0
