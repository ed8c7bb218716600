"""The console's and the API's plugs: route groups for ``heartguard run``'s web server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.console.api import IntegrationApi
from bot.console.assets import STATIC_DIR, STATIC_PREFIX
from bot.console.pages import ConsolePages
from bot.console.site import LIFETIME, SHARED_IDLE, ConsoleSite
from bot.console.stream import ConsoleInbox, ConsoleStream, ConsoleWatcher
from bot.services.case_file import CaseFiles
from bot.services.console_desk import ConsoleDesk
from bot.services.counselor_desk import CounselorDesk
from bot.services.web_sessions import SessionStore
from bot.web.app import RouteGroup
from bot.web.sessions import CookieSessions
from bot.web.signing import Signer

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

# The channel name the console's desk answers for (no chat addresses: sessions say who).
CONSOLE = "console"


def console_desk(runtime: Runtime) -> tuple[ConsoleDesk, CaseFiles]:
    """The desk and case files both the console and the API act through."""
    from bot.bootstrap import configured_channels, configured_shifts

    settings = runtime.settings
    zone = settings.schools.default_timezone
    shifts = configured_shifts(settings)
    cases = runtime.takeover.cases
    desk = CounselorDesk(
        runtime.sessions,
        cases,
        channel=CONSOLE,
        clock=runtime.clock,
        district_zone=zone,
        configured=shifts,
    )
    files = CaseFiles(runtime.sessions, desk, runtime.app.cipher, clock=runtime.clock)
    return (
        ConsoleDesk(
            runtime.sessions,
            desk=desk,
            files=files,
            cases=cases,
            takeover=runtime.takeover,
            clock=runtime.clock,
            channels=configured_channels(settings),
            configured=shifts,
            district_zone=zone,
        ),
        files,
    )


def console_groups(runtime: Runtime, signer: Signer) -> list[RouteGroup]:
    """``/console`` (pages, polls, assets) and ``/api/v1``."""
    settings = runtime.settings
    desk, files = console_desk(runtime)
    cookies = CookieSessions(
        SessionStore(runtime.sessions, clock=runtime.clock),
        signer,
        kind="counselor",
        cookie="hg_console",
        lifetime=LIFETIME,
        shared_lifetime=SHARED_IDLE,
        secure=settings.web.secure,
    )
    site = ConsoleSite(
        desk=desk,
        access=runtime.access,
        cookies=cookies,
        signer=signer,
        zone=settings.schools.default_timezone,
    )
    pages = ConsolePages(site, files)
    stream = ConsoleStream(pages, files, runtime.live, takeover=runtime.takeover)
    watcher = ConsoleWatcher(files.high_water, runtime.live)
    # The student's words while a counselor holds the chat wake that counselor's pages.
    runtime.takeover.inbox.attach(ConsoleInbox(runtime.live))
    console = RouteGroup(
        "console",
        [
            *pages.routes(),
            *stream.routes(),
            Mount(STATIC_PREFIX, StaticFiles(directory=str(STATIC_DIR)), name="console-static"),
        ],
        on_start=(watcher.start,),
        on_stop=(watcher.stop,),
    )
    api = RouteGroup("api", IntegrationApi(desk, files, runtime.access).routes())
    return [console, api]
