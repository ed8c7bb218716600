"""``GET /healthz``: is this process able to help a student in crisis right now?

200 ``{"status": "ok"}`` when the database answers and the green channel's heartbeat is fresh
(the scheduler's last tick finished recently); 503 with the reason otherwise, for a load
balancer or a monitor to act on. It says nothing about any student.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.web.app import RouteGroup

# A database that takes longer than this to say "1" is not one a crisis can wait on.
DB_TIMEOUT = 3.0

# Returns None when healthy, else a short reason.
Check = Callable[[], Awaitable[str | None]]


def health_group(database: Check, heartbeat: Callable[[], str | None]) -> RouteGroup:
    """The health check's route group."""

    async def healthz(_request: Request) -> Response:
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                problem = await database()
        except TimeoutError:
            problem = "database: no answer"
        problem = problem or heartbeat()
        if problem is not None:
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ok"})

    return RouteGroup("health", [Route("/healthz", healthz, methods=["GET"])])
