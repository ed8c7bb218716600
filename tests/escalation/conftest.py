"""Real parts for the notifier tests: an SMTP server, an HTTP receiver, a TLS certificate.

Nothing here mocks a notifier's insides: the notifiers talk to real sockets on localhost.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from escalation.notifiers.base import Alert

SMTP_USER = "heartguard-bot"
SMTP_PASSWORD = "s3cret-xin-password"
HOST = "127.0.0.1"


def _alert(**changes: Any) -> Alert:
    base = Alert(
        notification_id=41,
        idempotency_key="case:7:alert:t1:s1:tier1:counselor3:c0",
        kind="alert",
        case_id=7,
        case_number="HG-2025-0007",
        priority="emergency",
        status="open",
        school="北碚区实验中学",
        class_name="初二(3)班",
        student_display="小林",
        reason="自伤风险 self-harm risk",
        explanation="提到具体计划和时间 mentions a plan and a time",
        recipient_name="王老师",
        recipient_role="counselor",
        channel="email",
        address="wang@school.example",
        created_at=datetime(2025, 3, 4, 12, 30, tzinfo=UTC),
    )
    return replace(base, **changes)


@pytest.fixture
def make_alert() -> Callable[..., Alert]:
    """Build an Alert; keyword arguments override the defaults."""
    return _alert


def free_port() -> int:
    """A localhost port nobody listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A localhost port with nothing listening: connecting is refused."""
    return free_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A localhost port that accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


# --- TLS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(directory / "cert.pem", directory / "key.pem")


# --- SMTP ------------------------------------------------------------------------------


@dataclass
class Delivered:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: bytes | None
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class MailServer:
    """What the SMTP server saw; ``refuse`` maps a recipient to the reply that refuses it."""

    host: str
    port: int
    user: str = SMTP_USER
    password: str = SMTP_PASSWORD
    delivered: list[Delivered] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    failed_logins: list[bytes] = field(default_factory=list)
    slow: float = 0.0  # seconds before answering MAIL and RCPT: a tarpit

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.slow)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.slow)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login if session.authenticated else None
        # session.ssl is set by STARTTLS; implicit TLS shows on the transport.
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.delivered.append(
            Delivered(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login, tls)
        )
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        if not ok and isinstance(auth_data, LoginPassword):
            self.failed_logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


SmtpFactory = Callable[..., MailServer]


@pytest.fixture
def smtp_server(certificate: Certificate) -> Iterator[SmtpFactory]:
    """Start a real aiosmtpd server: ``smtp_server("none" | "starttls" | "tls")``."""
    controllers: list[Controller] = []

    def start(security: str = "none") -> MailServer:
        mail = MailServer(HOST, free_port())
        options: dict[str, Any] = {"authenticator": mail.authenticate}
        if security == "none":
            options["auth_require_tls"] = False
        elif security == "starttls":
            options.update(tls_context=certificate.server_context(), require_starttls=True)
        else:
            # Implicit TLS: aiosmtpd cannot tell, so it must be told AUTH is allowed.
            options.update(ssl_context=certificate.server_context(), auth_require_tls=False)
        controller = Controller(mail, hostname=HOST, port=mail.port, **options)
        controller.start()
        controllers.append(controller)
        return mail

    yield start
    for controller in controllers:
        controller.stop()


# --- HTTP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One HTTP request the receiver got."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query)

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """A real HTTP server on localhost that records requests and answers as it is told."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.reply: Any = {}
        self.hang = False
        self.release = threading.Event()
        handler = type("Handler", (_Handler,), {"receiver": self})
        self._server = ThreadingHTTPServer((HOST, 0), handler)
        self._server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{HOST}:{self._server.server_address[1]}"

    def answer(self, status: int, reply: Any = None) -> None:
        self.status, self.reply = status, {} if reply is None else reply

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    receiver: HttpReceiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.receiver.requests.append(Received("POST", parts.path, parts.query, headers, body))
        if self.receiver.hang:
            self.receiver.release.wait(timeout=30)
            self.close_connection = True
            return
        status = self.receiver.status
        reply = b"" if status in (204, 304) else json.dumps(self.receiver.reply).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self) -> None:
        """A heartbeat ping: recorded, answered with the receiver's status."""
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.receiver.requests.append(Received("GET", parts.path, parts.query, headers, b""))
        self.send_response(self.receiver.status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read requests, not access logs."""


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A local HTTP receiver (answers 200 ``{}`` until told otherwise)."""
    server = HttpReceiver()
    yield server
    server.close()


@pytest.fixture
def tls_receiver(certificate: Certificate) -> Iterator[HttpReceiver]:
    """The same receiver behind HTTPS, with the self-signed test certificate."""
    server = HttpReceiver(certificate.server_context())
    yield server
    server.close()
