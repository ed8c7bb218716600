"""``/api/v1``: the integration API for the district's other systems, in JSON.

A request acts as the counselor its bearer token was issued for (``heartguard tokens issue``)
with that counselor's scope. No token, or a revoked or expired one, is 401; a case outside the
scope is 404, the same as one that does not exist, and never shows its contents. A body that
is not JSON, or fields that are wrong, is 400 or 422 with a sentence naming the field. A
browser's session never reaches the API: only a bearer header is read.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.console.openapi import openapi
from bot.services.access import Access
from bot.services.case_commands import BadCommand, parse
from bot.services.case_file import CaseFile, CaseFiles
from bot.services.case_refs import MAX_ID
from bot.services.console_desk import ConsoleDesk
from bot.services.counselor_desk import Who
from bot.web.forms import read_body
from bot.web.guard import BodyTooLarge
from escalation.actions import CaseActionError
from escalation.queue import QueueItem
from escalation.takeover import TakeoverRefused

log = logging.getLogger(__name__)
BODY_LIMIT = 64 * 1024
# The API's path word for each action (``messages`` is the takeover's reply).
PATH_ACTIONS = {
    "ack": "ack",
    "contacted": "contacted",
    "refer": "refer",
    "resolve": "resolve",
    "notes": "note",
    "messages": "reply",
}


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def case_json(case: Any, school: str | None, student: str) -> dict[str, Any]:
    """A case's summary."""
    return {
        "id": case.id,
        "number": f"{case.created_at.year}-{case.id:05d}",
        "priority": case.priority,
        "status": case.status,
        "resolution": case.resolution,
        "reason": case.reason,
        "categories": list(case.categories or ()),
        "school": school,
        "student": student,
        "wishes": dict(case.wishes or {}),
        "created_at": case.created_at.isoformat(),
        "acknowledged_at": case.acknowledged_at.isoformat() if case.acknowledged_at else None,
    }


def file_json(found: CaseFile) -> dict[str, Any]:
    """A whole case file."""
    view, subject = found.view, found.subject
    body = case_json(found.case, subject.school, subject.name)
    body.update(
        {
            "class": subject.class_name,
            "grade": found.grade,
            "owner": {"state": view.owner, "counselor": view.owner_name},
            "scores": [
                {"at": s.at.isoformat(), "instrument": s.label, "score": s.score, "band": s.band}
                for s in subject.scores
            ],
            "timeline": [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "details": e.details,
                    **({"note": view.notes[e.id]} if e.id in view.notes else {}),
                }
                for e in view.events
            ],
            "assessments": [
                {
                    "at": a.at.isoformat(),
                    "level": a.level,
                    "categories": list(a.categories),
                    "explanation": a.explanation,
                    "evidence": list(a.evidence),
                }
                for a in found.assessments
            ],
            "alerts": [
                {
                    "at": p.at.isoformat(),
                    "kind": p.kind,
                    "recipient": p.recipient,
                    "tier": p.tier,
                    "channel": p.channel,
                    "status": p.status,
                }
                for p in found.alerts
            ],
            "messages": [line.as_json() for line in found.lines],
        }
    )
    return body


class IntegrationApi:
    """The API's routes."""

    def __init__(self, desk: ConsoleDesk, files: CaseFiles, access: Access) -> None:
        self.desk = desk
        self.files = files
        self.access = access

    def routes(self) -> list[Route]:
        """``/api/v1`` routes."""
        return [
            Route("/api/v1/openapi.json", self.description, methods=["GET"]),
            Route("/api/v1/cases", self.cases, methods=["GET"]),
            Route("/api/v1/cases/{case}", self.case, methods=["GET"]),
            Route("/api/v1/cases/{case}/{action}", self.act, methods=["POST"]),
        ]

    async def _who(self, request: Request) -> Who | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = await self.access.authenticate(token.strip())
        return Who(found.counselor_id, found.name) if found is not None else None

    @staticmethod
    def _unauthorized() -> Response:
        return JSONResponse(
            {"error": "a valid bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="heartguard"'},
        )

    @staticmethod
    def _case_id(request: Request) -> int | None:
        raw = str(request.path_params["case"])
        if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
            return None
        if not 0 < int(raw) <= MAX_ID:  # past every database's integer: no such case
            return None
        return int(raw)

    async def description(self, _request: Request) -> Response:
        """The OpenAPI description (public: it says nothing about any student)."""
        return JSONResponse(openapi())

    async def cases(self, request: Request) -> Response:
        """Open cases in the token's scope, most urgent and longest waiting first."""
        who = await self._who(request)
        if who is None:
            return self._unauthorized()
        items: list[QueueItem] = list(await self.desk.queue(who))
        return JSONResponse(
            {"cases": [case_json(i.case, i.school_name, i.student_display) for i in items]}
        )

    async def case(self, request: Request) -> Response:
        """One case file (its messages read are recorded on the case)."""
        who = await self._who(request)
        if who is None:
            return self._unauthorized()
        case_id = self._case_id(request)
        if case_id is None:
            return _error(404, "no such case")
        try:
            found = await self.files.open(case_id, who)
        except CaseActionError:
            return _error(404, "no such case")
        return JSONResponse(file_json(found))

    async def act(self, request: Request) -> Response:
        """``ack``, ``contacted``, ``refer``, ``resolve``, ``notes`` or ``messages``."""
        who = await self._who(request)
        if who is None:
            return self._unauthorized()
        case_id = self._case_id(request)
        action = PATH_ACTIONS.get(request.path_params["action"])
        if case_id is None or action is None:
            return _error(404, f"no such action; expected one of {', '.join(PATH_ACTIONS)}")
        try:
            raw = await read_body(request, BODY_LIMIT)
        except BodyTooLarge:
            return _error(413, f"the body is over {BODY_LIMIT} bytes")
        fields: Any = {}
        if raw.strip():
            try:
                fields = json.loads(raw)
            except (UnicodeDecodeError, ValueError):
                return _error(400, "the body is not JSON")
        if not isinstance(fields, dict):
            return _error(400, "the body must be a JSON object")
        try:
            command = parse(action, fields)
        except BadCommand as exc:
            return _error(422, str(exc))
        try:
            outcome = await self.desk.act(who, case_id, command)
        except (CaseActionError, TakeoverRefused) as exc:
            # Missing or outside the scope: 404 alike; a colleague out of scope is a 409.
            if isinstance(exc, CaseActionError) and not await self.files.visible(case_id, who):
                return _error(404, "no such case")
            return _error(409, str(exc))
        body: dict[str, Any] = {"ok": True, "message": outcome.message}
        if action == "reply":
            body["delivered"] = outcome.delivered
            body["message_id"] = outcome.message_id
        return JSONResponse(body)
