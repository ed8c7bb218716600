"""The app factory: route groups in, one guarded ASGI app out.

A route group is what one part of HeartGuard serves (the chat page, the WeChat callback, the
health check; later the counselor console at ``/console`` and the API at ``/api/v1``), with
what it starts and stops beside the server. Groups never know about each other: adding one is
one more item in the list ``heartguard run`` passes here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from bot.web.guard import MAX_BODY, Fallback, Guard, plain_fallback

Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class RouteGroup:
    """Routes served together, and what runs beside them while the server is up."""

    name: str
    routes: Sequence[BaseRoute]
    on_start: Sequence[Hook] = field(default_factory=tuple)
    # Run when the server stops taking requests (before in-flight ones finish): end streams.
    on_stopping: Sequence[Hook] = field(default_factory=tuple)
    on_stop: Sequence[Hook] = field(default_factory=tuple)


def create_app(
    groups: Sequence[RouteGroup],
    *,
    fallback: Fallback = plain_fallback,
    max_body: int = MAX_BODY,
) -> ASGIApp:
    """One Starlette app serving every group's routes behind the :class:`Guard`."""
    paths: dict[str, str] = {}
    for group in groups:
        for route in group.routes:
            path = getattr(route, "path", None)
            if isinstance(path, str):
                if path in paths and paths[path] != group.name:
                    raise ValueError(f"{path} is served by both {paths[path]} and {group.name}")
                paths[path] = group.name
    routes = [route for group in groups for route in group.routes]

    async def fault(request: Request, _exc: Exception) -> Response:
        # The Guard logs the fault (its type only); the person gets the fixed page.
        wants_json = "application/json" in request.headers.get("accept", "")
        content_type, body = fallback(500, wants_json)
        return Response(body, status_code=500, media_type=content_type)

    # No debug pages, no lifespan: the process starts and stops what the groups need.
    inner = Starlette(routes=routes, exception_handlers={Exception: fault})
    return Guard(inner, fallback=fallback, max_body=max_body)
