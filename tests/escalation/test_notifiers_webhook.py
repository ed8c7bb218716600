"""Standard Webhooks against a real local receiver: signing, verifying, and status mapping."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import httpx
import pytest

from escalation.notifiers.base import Alert
from escalation.notifiers.webhook import (
    WebhookNotifier,
    WebhookVerificationError,
    parse_secret,
    sign,
    verify,
)

if TYPE_CHECKING:  # fixtures' types only; two conftest modules share one name at run time
    from conftest import Certificate, HttpReceiver

MakeAlert = Callable[..., Alert]
KEY = b"heartguard-test-signing-key-32-bytes!"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_741_091_400


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def hook(client: httpx.AsyncClient, timeout: float = 5.0) -> WebhookNotifier:
    return WebhookNotifier(SECRET, timeout=timeout, client=client, clock=lambda: NOW + 0.9)


async def test_delivers_a_signed_body_the_receiver_can_verify(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    alert = make_alert(kind="referral", status="referred", address=receiver.url + "/hooks")

    result = await hook(client).send(alert)

    assert result.ok, result.error
    [got] = receiver.requests
    assert got.path == "/hooks"
    assert got.headers["webhook-id"] == alert.idempotency_key
    assert got.headers["webhook-timestamp"] == str(NOW)
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.headers["content-type"].startswith("application/json")
    body = verify(SECRET, got.headers, got.body, now=NOW + 10)
    assert body["type"] == "case.referral"
    assert body["timestamp"] == "2025-03-04T12:30:00+00:00"
    assert body["data"] == {
        "notification_id": 41,
        "case_id": 7,
        "case_number": "HG-2025-0007",
        "priority": "emergency",
        "status": "referred",
        "school": "北碚区实验中学",
        "class": "初二(3)班",
        "student_display": "小林",
        "reason": "自伤风险 self-harm risk",
        "explanation": "提到具体计划和时间 mentions a plan and a time",
    }


@pytest.mark.parametrize(
    ("kind", "event"), [("alert", "case.alert"), ("update", "case.update"), ("test", "case.test")]
)
async def test_event_type_follows_the_alert_kind(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert, kind: str, event: str
) -> None:
    await hook(client).send(make_alert(kind=kind, address=receiver.url))

    assert receiver.requests[0].json()["type"] == event


async def test_a_retry_keeps_the_id_and_signs_a_fresh_timestamp(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    times = iter([NOW, NOW + 60])
    notifier = WebhookNotifier(SECRET, client=client, clock=lambda: next(times))
    alert = make_alert(address=receiver.url)

    await notifier.send(alert)
    await notifier.send(alert)

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert (first.headers["webhook-timestamp"], second.headers["webhook-timestamp"]) == (
        str(NOW),
        str(NOW + 60),
    )
    assert first.body == second.body
    verify(SECRET, second.headers, second.body, now=NOW + 60)


@pytest.mark.parametrize(
    ("status", "ok", "permanent", "disable"),
    [
        (200, True, False, False),
        (204, True, False, False),
        (410, False, True, True),
        (404, False, True, False),
        (301, False, True, False),
        (408, False, False, False),
        (429, False, False, False),
        (500, False, False, False),
        (503, False, False, False),
    ],
)
async def test_status_codes_map_to_delivery_outcomes(
    receiver: HttpReceiver,
    client: httpx.AsyncClient,
    make_alert: MakeAlert,
    status: int,
    ok: bool,
    permanent: bool,
    disable: bool,
) -> None:
    receiver.answer(status)

    result = await hook(client).send(make_alert(address=receiver.url))

    assert (result.ok, result.permanent, result.disable_endpoint) == (ok, permanent, disable)
    assert len(receiver.requests) == 1  # redirects are not followed
    if not ok:
        assert str(status) in result.error


async def test_a_hanging_endpoint_is_retried_within_the_timeout(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.hang = True

    async with asyncio.timeout(5):  # the endpoint hangs for 30 s: only our timeout ends this
        result = await hook(client, timeout=0.2).send(make_alert(address=receiver.url))

    assert not result.ok
    assert not result.permanent
    assert result.error == "timeout"


async def test_connection_refused_is_retried(
    closed_port: int, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    result = await hook(client).send(make_alert(address=f"http://127.0.0.1:{closed_port}/"))

    assert not result.ok
    assert not result.permanent
    assert "ConnectError" in result.error


@pytest.mark.parametrize(
    "address", ["http://hospital.example/hooks", "ftp://127.0.0.1/x", "not a url", ""]
)
async def test_only_https_leaves_the_machine(
    client: httpx.AsyncClient, make_alert: MakeAlert, address: str
) -> None:
    result = await hook(client).send(make_alert(address=address))

    assert not result.ok
    assert result.permanent


async def test_owns_and_closes_its_client_when_given_none(
    receiver: HttpReceiver, make_alert: MakeAlert
) -> None:
    notifier = WebhookNotifier(KEY, clock=lambda: NOW)

    result = await notifier.send(make_alert(address=receiver.url))
    await notifier.aclose()

    assert result.ok
    verify(KEY, receiver.requests[0].headers, receiver.requests[0].body, now=NOW)


def test_repr_hides_the_secret(client: httpx.AsyncClient) -> None:
    text = repr(hook(client))

    assert SECRET not in text
    assert SECRET.removeprefix("whsec_") not in text


# --- verify and sign -------------------------------------------------------------------


def signed(body: bytes = b'{"a":1}', stamp: int = NOW, msg_id: str = "msg_1") -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(KEY, msg_id, stamp, body),
    }


def test_standard_webhooks_reference_vector() -> None:
    """The signature the Standard Webhooks reference libraries expect for their test message."""
    key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'

    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secret_forms_agree() -> None:
    assert parse_secret(SECRET) == parse_secret(SECRET.removeprefix("whsec_")) == KEY
    assert parse_secret(KEY) == KEY


@pytest.mark.parametrize("bad", ["", "whsec_", "whsec_not base64!", b""])
def test_bad_secrets_are_refused(bad: str | bytes) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        parse_secret(bad)


def test_verify_accepts_a_good_message_and_returns_its_json() -> None:
    assert verify(SECRET, signed(), b'{"a":1}', now=NOW + 299) == {"a": 1}


def test_verify_reads_headers_in_any_case() -> None:
    headers = {name.upper(): value for name, value in signed().items()}

    assert verify(SECRET, headers, '{"a":1}', now=NOW) == {"a": 1}


def test_verify_rejects_a_tampered_body() -> None:
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(SECRET, signed(), b'{"a":2}', now=NOW)


def test_verify_rejects_the_wrong_secret() -> None:
    other = "whsec_" + base64.b64encode(b"another-key-entirely-000000000000").decode()

    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(other, signed(), b'{"a":1}', now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_verify_rejects_stale_or_future_timestamps(offset: int) -> None:
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(SECRET, signed(), b'{"a":1}', now=NOW + offset)


def test_verify_rejects_a_replayed_signature_under_a_new_timestamp() -> None:
    headers = signed() | {"webhook-timestamp": str(NOW + 5)}

    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(SECRET, headers, b'{"a":1}', now=NOW + 5)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_verify_rejects_missing_headers(missing: str) -> None:
    headers = signed()
    del headers[missing]

    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(SECRET, headers, b'{"a":1}', now=NOW)


@pytest.mark.parametrize("stamp", ["soon", "1.5e9", "-1", "١٧٤١٠٩١٤٠٠"])
def test_verify_rejects_malformed_timestamps(stamp: str) -> None:
    headers = signed() | {"webhook-timestamp": stamp}

    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify(SECRET, headers, b'{"a":1}', now=NOW)


def test_verify_accepts_any_one_valid_signature_among_several() -> None:
    headers = signed()
    good = headers["webhook-signature"]
    headers["webhook-signature"] = f"v1,AAAA v2,{good[3:]} {good} v1,签名"

    assert verify(SECRET, headers, b'{"a":1}', now=NOW) == {"a": 1}


def test_verify_is_the_same_json_the_notifier_sent() -> None:
    body = json.dumps({"学生": "小林"}, ensure_ascii=False).encode()

    assert verify(SECRET, signed(body), body, now=NOW) == {"学生": "小林"}


@pytest.mark.parametrize(
    ("kind", "quoted"), [("alert", True), ("referral", True), ("update", False)]
)
async def test_the_quote_travels_only_with_alerts_and_referrals(
    receiver: HttpReceiver,
    client: httpx.AsyncClient,
    make_alert: MakeAlert,
    kind: str,
    quoted: bool,
) -> None:
    alert = make_alert(kind=kind, evidence_quote="我不想活了", address=receiver.url)

    await hook(client).send(alert)

    data = receiver.requests[0].json()["data"]
    assert ("evidence_quote" in data) is quoted
    if quoted:
        assert data["evidence_quote"] == "我不想活了"


async def test_delivers_over_https_to_a_trusted_certificate(
    tls_receiver: HttpReceiver, certificate: Certificate, make_alert: MakeAlert
) -> None:
    async with httpx.AsyncClient(verify=certificate.client_context()) as trusting:
        result = await hook(trusting).send(make_alert(address=tls_receiver.url + "/h"))

    assert result.ok, result.error
    assert tls_receiver.url.startswith("https://")
    verify(SECRET, tls_receiver.requests[0].headers, tls_receiver.requests[0].body, now=NOW)


async def test_an_untrusted_certificate_fails_for_good(
    tls_receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    result = await hook(client).send(make_alert(address=tls_receiver.url + "/h"))

    assert (result.ok, result.permanent) == (False, True)
    assert "certificate" in result.error
    assert tls_receiver.requests == []
