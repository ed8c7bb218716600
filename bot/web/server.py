"""The web server inside ``heartguard run``: uvicorn on the process's own event loop.

It binds its socket itself (a port in use is a one-line error, not uvicorn's exit) and
leaves signals to the process. Stopping: the route groups end their open streams, uvicorn
stops accepting, lets the requests in flight finish (up to ``grace`` seconds), and the groups
stop what they started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence

import uvicorn
from uvicorn.lifespan.off import LifespanOff

from bot.errors import HeartGuardError
from bot.web.app import RouteGroup, create_app
from bot.web.guard import Fallback, plain_fallback

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or a one-line error naming the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise HeartGuardError(
            f"cannot listen on {host}:{port} (web.listen, web.port): {exc.strerror}"
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class WebServer:
    """uvicorn serving the route groups, started and stopped by the process."""

    def __init__(
        self,
        groups: Sequence[RouteGroup],
        *,
        host: str,
        port: int,
        fallback: Fallback = plain_fallback,
        grace: float = 10.0,
    ) -> None:
        self.groups = tuple(groups)
        self.host = host
        self.port = port
        self.app = create_app(self.groups, fallback=fallback)
        self.config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,  # the process's logging stays as configured
            access_log=False,  # ours leaves out query strings
            server_header=False,
            proxy_headers=True,
            ws="none",
            timeout_graceful_shutdown=int(grace),
            timeout_keep_alive=20,
        )
        # uvicorn's access line carries the query string (an openid, a link's token): it
        # stays off even where a handler gets attached to its logger.
        logging.getLogger("uvicorn.access").disabled = True
        self.server = uvicorn.Server(self.config)
        self._socket: socket.socket | None = None
        self._loop: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Where the server listens (the port actually bound)."""
        port = self._socket.getsockname()[1] if self._socket is not None else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    async def start(self) -> None:
        """Bind, start the groups' companions, and take requests."""
        self._socket = bind(self.host, self.port)
        if not self.config.loaded:
            self.config.load()
        self.server.lifespan = LifespanOff(self.config)
        for group in self.groups:
            for hook in group.on_start:
                await hook()
        await self.server.startup(sockets=[self._socket])
        # uvicorn's loop refreshes the Date header and watches should_exit.
        self._loop = asyncio.create_task(self.server.main_loop(), name="uvicorn")
        log.info("web server listening on %s", self.url)

    async def stop(self) -> None:
        """Stop taking requests, end streams, let requests in flight finish, stop companions."""
        for group in self.groups:
            for hook in group.on_stopping:
                await hook()
        self.server.should_exit = True
        if self._loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self.server.started:
            await self.server.shutdown(sockets=[self._socket] if self._socket else None)
        for group in self.groups:
            for hook in group.on_stop:
                try:
                    await hook()
                except Exception as exc:
                    log.warning("web: stopping %s: %s", group.name, type(exc).__name__)
        log.info("web server stopped")
