"""A local HTTP server that plays WeChat's API and records every call it received.

It issues access tokens from ``/cgi-bin/stable_token``, checks them on the send endpoints (a
token it expired answers 42001, as WeChat does) and answers each send with the next scripted
``errcode`` (0 once the script runs out).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    path: str
    query: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


@dataclass
class FakeWeChat:
    """State behind the fake: issued tokens, scripted answers and the calls received."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    issued: int = 0
    expires_in: int = 7200
    token_errcode: int = 0
    http_status: int = 200
    scripts: dict[str, deque[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, path: str, *errcodes: int) -> None:
        """Answer the next sends to ``path`` with these errcodes, in order."""
        self.scripts.setdefault(path, deque()).extend(errcodes)

    def expire_tokens(self) -> None:
        """Make every token issued so far stale, as when WeChat rotates it."""
        with self.lock:
            self.valid_tokens.clear()

    def to(self, path: str) -> list[Call]:
        """The calls received on ``path``."""
        return [call for call in self.calls if call.path == path]

    def answer(self, path: str, query: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls.append(Call(path, query, raw))
            if self.http_status != 200:
                return self.http_status, {}
            if path == "/cgi-bin/stable_token":
                if self.token_errcode:
                    return 200, {"errcode": self.token_errcode, "errmsg": "refused"}
                self.issued += 1
                token = f"token-{self.issued}"
                self.valid_tokens.add(token)
                return 200, {"access_token": token, "expires_in": self.expires_in}
            if query.get("access_token") not in self.valid_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            script = self.scripts.get(path)
            errcode = script.popleft() if script else 0
            return 200, {"errcode": errcode, "errmsg": "ok" if errcode == 0 else "scripted"}


def _handler(fake: FakeWeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, answer = fake.answer(parts.path, query, raw)
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@contextmanager
def running_fake() -> Iterator[FakeWeChat]:
    """Run a :class:`FakeWeChat` on a free loopback port for the duration of the block."""
    fake = FakeWeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval: shutdown() waits up to one interval.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-wechat", daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
