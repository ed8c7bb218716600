"""The console's pages: the queue, a case, duty; and the forms they post.

Every page needs a counselor session; every post needs its CSRF token as well. A case outside
the counselor's schools is answered exactly like one that does not exist (404, nothing of
it shown), and the attempt is recorded on the case by the service that refused it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.console.site import ConsoleSite
from bot.services.case_commands import BadCommand, parse
from bot.services.case_file import CaseFiles, open_case
from bot.services.case_refs import MAX_ID
from bot.services.counselor_desk import Who
from escalation.actions import CaseActionError
from escalation.duty import DutyError
from escalation.lifecycle import RESOLUTIONS
from escalation.notifiers.render import PRIORITY, STATUS, WISHES
from escalation.queue import QueueItem
from escalation.takeover import TakeoverRefused

log = logging.getLogger(__name__)
RESOLUTION_WORDS = {
    "safe": "学生安全 Safe",
    "referred_out": "已转介外部 Referred out",
    "false_alarm": "误报 False alarm",
    "no_contact": "未能联系 No contact",
    "other": "其他 Other",
}
MAX_SHIFT_HOURS = 24


def queue_version(items: Sequence[QueueItem], holders: dict[int, str]) -> str:
    """A short fingerprint of what the queue shows: a page asks for a new one when it changes."""
    parts = [
        f"{i.case.id}:{i.case.status}:{i.case.priority}:{holders.get(i.case.id, '')}" for i in items
    ]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]


def words(table: dict[str, tuple[str, str]], key: str | None) -> str:
    """A code in both languages ("紧急 EMERGENCY")."""
    if not key:
        return ""
    zh, en = table.get(key, (key, key))
    return f"{zh} {en}"


class ConsolePages:
    """``/console``, ``/console/cases/{id}``, ``/console/duty`` and their posts."""

    def __init__(self, site: ConsoleSite, files: CaseFiles) -> None:
        self.site = site
        self.desk = site.desk
        self.files = files

    def routes(self) -> list[Route]:
        """The pages' routes."""
        site = self.site
        return [
            Route("/console/signin", site.signin_page, methods=["GET"]),
            Route("/console/signin", site.signin, methods=["POST"]),
            Route("/console/signout", site.signout, methods=["POST"]),
            Route("/console", self.queue, methods=["GET"]),
            Route("/console/cases/{case:int}", self.case, methods=["GET"]),
            Route("/console/cases/{case:int}/act", self.act, methods=["POST"]),
            Route("/console/duty", self.duty, methods=["GET"]),
            Route("/console/duty/shift", self.shift, methods=["POST"]),
        ]

    # -- queue ---------------------------------------------------------------------------------

    async def queue_rows(self, who: Who) -> tuple[list[dict[str, Any]], str]:
        """The queue as rows for a template, and its version."""
        items = await self.desk.queue(who)
        holders = await self.desk.holders(items)
        now = self.desk.clock()
        rows = [
            {
                "id": item.case.id,
                "number": f"{item.case.created_at.year}-{item.case.id:05d}",
                "priority": item.case.priority,
                "priority_words": words(PRIORITY, item.case.priority),
                "status_words": words(STATUS, item.case.status),
                "school": item.school_name or "—",
                "student": item.student_display,
                "opened": item.case.created_at,
                "waiting": int((now - item.case.created_at).total_seconds() // 60),
                "holder": holders.get(item.case.id, ""),
            }
            for item in items
        ]
        return rows, queue_version(items, holders)

    async def queue(self, request: Request) -> Response:
        """The open cases in the counselor's schools, most urgent and longest waiting first."""
        desk = await self.site.signed_in(request)
        if desk is None:
            return self.site.to_signin()
        rows, version = await self.queue_rows(desk.who)
        return self.site.render(
            request, "queue.html", {"rows": rows, "version": version}, desk=desk
        )

    # -- a case --------------------------------------------------------------------------------

    async def case(self, request: Request) -> Response:
        """A case: the student, the timeline, the conversation and the buttons."""
        desk = await self.site.signed_in(request)
        if desk is None:
            return self.site.to_signin()
        case_id = request.path_params["case"]
        if not 0 < case_id <= MAX_ID:
            return self.site.not_found(request, desk)
        try:
            found = await self.files.open(case_id, desk.who)
        except CaseActionError:  # missing or outside the scope: the same 404
            return self.site.not_found(request, desk)
        case = found.case
        colleagues = await self.files.colleagues(case, desk.who)
        hospitals = await self.files.hospitals()
        wishes = case.wishes or {}
        context = {
            "file": found,
            "case": case,
            "number": f"{case.created_at.year}-{case.id:05d}",
            "priority_words": words(PRIORITY, case.priority),
            "status_words": words(STATUS, case.status),
            "open": open_case(case),
            "wish_time": words(WISHES, wishes.get("preferred_time")),
            "wish_channel": words(WISHES, wishes.get("preferred_channel")),
            "holds": found.view.owner in ("counselor", "quiet")
            and found.view.owner_name == desk.who.name,
            "colleagues": colleagues,
            "hospitals": hospitals,
            "resolutions": [(code, RESOLUTION_WORDS.get(code, code)) for code in RESOLUTIONS],
            "after": found.lines[-1].id if found.lines else 0,
            "owner_key": f"{found.view.owner}:{found.view.owner_id or ''}",
            "flash": request.query_params.get("done", ""),
            "error": request.query_params.get("error", ""),
        }
        return self.site.render(request, "case.html", context, desk=desk)

    async def act(self, request: Request) -> Response:
        """One button on a case page (a plain form post; JSON for the page's script)."""
        wants_json = "application/json" in request.headers.get("accept", "")
        case_id = request.path_params["case"]
        posted = await self.site.posted(request)
        if posted is None:
            if wants_json:
                return JSONResponse({"ok": False, "error": "会话已失效 Session expired"}, 403)
            return Response("forbidden", status_code=403, media_type="text/plain")
        desk, fields = posted
        if not 0 < case_id <= MAX_ID:
            return self.site.not_found(request, desk)
        back = f"/console/cases/{case_id}"
        try:
            command = parse(fields.get("action", ""), fields)
            outcome = await self.desk.act(desk.who, case_id, command)
        except (BadCommand, CaseActionError, TakeoverRefused) as exc:
            message = str(exc)
            if isinstance(exc, CaseActionError) and not await self.files.visible(case_id, desk.who):
                if wants_json:
                    return JSONResponse({"ok": False, "error": "not found"}, status_code=404)
                return self.site.not_found(request, desk)
            if wants_json:
                return JSONResponse({"ok": False, "error": message}, status_code=409)
            return self._back(back, error=message)
        if wants_json:
            return JSONResponse(
                {"ok": True, "message": outcome.message, "delivered": outcome.delivered}
            )
        done = outcome.message if outcome.delivered else outcome.message + " (未送达 undelivered)"
        return self._back(back, done=done)

    def _back(self, path: str, **query: str) -> Response:
        return RedirectResponse(f"{path}?{urlencode(query)}#actions", status_code=303)

    # -- duty ----------------------------------------------------------------------------------

    async def duty(self, request: Request) -> Response:
        """Who is on duty now, and the week's coverage gaps in the counselor's scope."""
        desk = await self.site.signed_in(request)
        if desk is None:
            return self.site.to_signin()
        board = await self.desk.board(desk.who)
        report = await self.desk.coverage()
        codes = await self.desk.scope_codes(desk.who)
        places = [p for p in report.places if codes is None or p.code in codes]
        return self.site.render(
            request,
            "duty.html",
            {
                "board": board,
                "places": places,
                "flash": request.query_params.get("done", ""),
                "error": request.query_params.get("error", ""),
            },
            desk=desk,
        )

    async def shift(self, request: Request) -> Response:
        """Start (with a length in hours) or end an ad-hoc shift."""
        posted = await self.site.posted(request)
        if posted is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        desk, fields = posted
        try:
            if fields.get("do") == "end":
                ended, still = await self.desk.end_shift(desk.who)
                done = "值班已结束 Shift ended" if ended else "没有进行中的临时值班 No ad-hoc shift"
                if still:
                    done += "（仍在排班中 still on a rostered shift）"
            else:
                hours = fields.get("hours", "4")
                if not hours.isdigit() or not 1 <= int(hours) <= MAX_SHIFT_HOURS:
                    return self._back("/console/duty", error=f"1–{MAX_SHIFT_HOURS} hours")
                until = await self.desk.start_shift(desk.who, int(hours))
                done = f"值班至 On duty until {self.site.local(until)}"
        except DutyError as exc:
            return self._back("/console/duty", error=str(exc))
        return self._back("/console/duty", done=done)
