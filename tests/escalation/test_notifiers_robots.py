"""WeCom and DingTalk group robots against a real local receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

import httpx
import pytest

from escalation.notifiers.base import Alert
from escalation.notifiers.dingtalk import DingTalkNotifier, signature
from escalation.notifiers.wecom import WeComNotifier

if TYPE_CHECKING:  # fixtures' types only; two conftest modules share one name at run time
    from conftest import HttpReceiver

MakeAlert = Callable[..., Alert]
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN = "c0ffee-access-token"
DING_SECRET = "SECc0ffee/with+base64ish=chars"
NOW = 1_741_091_400.123


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def wecom(receiver: HttpReceiver, client: httpx.AsyncClient, **options: object) -> WeComNotifier:
    return WeComNotifier(base_url=receiver.url + "/send", client=client, **options)  # type: ignore[arg-type]


def dingtalk(
    receiver: HttpReceiver, client: httpx.AsyncClient, **options: object
) -> DingTalkNotifier:
    return DingTalkNotifier(
        options.pop("secret", DING_SECRET),  # type: ignore[arg-type]
        base_url=receiver.url + "/robot/send",
        client=client,
        clock=lambda: NOW,
        **options,  # type: ignore[arg-type]
    )


# --- WeCom -----------------------------------------------------------------------------


async def test_wecom_posts_markdown_to_the_robot_key(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})

    result = await wecom(receiver, client).send(make_alert(address=WECOM_KEY))

    assert result.ok, result.error
    [got] = receiver.requests
    assert got.path == "/send"
    assert got.query == {"key": [WECOM_KEY]}
    body = got.json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("**【紧急】")
    assert "HG-2025-0007" in content
    assert "初二(3)班" in content


async def test_wecom_takes_the_key_from_a_pasted_url_but_posts_only_to_its_base(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})
    pasted = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"

    result = await wecom(receiver, client).send(make_alert(address=pasted))

    assert result.ok
    assert receiver.requests[0].query == {"key": [WECOM_KEY]}


async def test_wecom_text_mode_stays_within_its_2048_byte_limit(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})
    alert = make_alert(address=WECOM_KEY, evidence_quote="我真的撑不下去了" * 200)

    await wecom(receiver, client, msgtype="text").send(alert)

    content = receiver.requests[0].json()["text"]["content"]
    assert len(content.encode()) <= 2048
    assert "heartguard cases ack 7" in content


@pytest.mark.parametrize(
    ("answer", "ok", "permanent"),
    [
        ({"errcode": 0, "errmsg": "ok"}, True, False),
        ({"errcode": 45009, "errmsg": "api freq out of limit"}, False, False),
        ({"errcode": -1, "errmsg": "system busy"}, False, False),
        ({"errcode": 93000, "errmsg": "invalid webhook url"}, False, True),
        ({"errmsg": "no code"}, False, True),
        (["not", "an", "object"], False, True),
    ],
)
async def test_wecom_errcodes_map_to_outcomes(
    receiver: HttpReceiver,
    client: httpx.AsyncClient,
    make_alert: MakeAlert,
    answer: object,
    ok: bool,
    permanent: bool,
) -> None:
    receiver.answer(200, answer)

    result = await wecom(receiver, client).send(make_alert(address=WECOM_KEY))

    assert (result.ok, result.permanent) == (ok, permanent)


async def test_wecom_errors_never_carry_the_robot_key(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.answer(500)

    result = await wecom(receiver, client).send(make_alert(address=WECOM_KEY))

    assert not result.ok
    assert not result.permanent
    assert WECOM_KEY not in result.error
    assert WECOM_KEY not in repr(wecom(receiver, client))


async def test_wecom_without_a_key_fails_for_good(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    result = await wecom(receiver, client).send(make_alert(address="  "))

    assert result.permanent
    assert receiver.requests == []


# --- DingTalk --------------------------------------------------------------------------


def expected_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's documented recipe, written out independently of the notifier."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, digestmod=hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


async def test_dingtalk_signs_each_request(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})

    result = await dingtalk(receiver, client).send(make_alert(address=DING_TOKEN))

    assert result.ok, result.error
    [got] = receiver.requests
    assert got.path == "/robot/send"
    raw = dict(pair.split("=", 1) for pair in got.raw_query.split("&"))
    assert raw["access_token"] == DING_TOKEN
    assert raw["timestamp"] == "1741091400123"  # milliseconds
    assert raw["sign"] == expected_sign(1741091400123, DING_SECRET)
    assert raw["sign"].endswith("%3D")  # URL-encoded base64 padding


def test_dingtalk_signature_math() -> None:
    sign = signature(DING_SECRET, 1741091400123)

    assert quote_plus(sign) == expected_sign(1741091400123, DING_SECRET)
    assert len(base64.b64decode(sign)) == 32  # an HMAC-SHA256 digest
    assert signature(DING_SECRET, 1741091400124) != sign


async def test_dingtalk_markdown_has_a_title_without_the_students_name(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})

    await dingtalk(receiver, client).send(make_alert(address=DING_TOKEN))

    body = receiver.requests[0].json()
    assert body["msgtype"] == "markdown"
    assert "【紧急】" in body["markdown"]["title"]
    assert "小林" not in body["markdown"]["title"]  # the title shows in chat lists
    assert "小林" in body["markdown"]["text"]
    assert "\n\n" in body["markdown"]["text"]


async def test_dingtalk_picks_each_robots_own_secret(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})
    secrets = {DING_TOKEN: DING_SECRET, "other-robot": "SECother"}
    notifier = dingtalk(receiver, client, secret=secrets)
    pasted = "https://oapi.dingtalk.com/robot/send?access_token=other-robot"

    await notifier.send(make_alert(address=pasted))
    unknown = await notifier.send(make_alert(address="unknown-robot"))

    [got] = receiver.requests
    assert got.query["access_token"] == ["other-robot"]
    assert got.query["sign"] == [signature("SECother", 1741091400123)]
    assert unknown.permanent
    assert "secret" in unknown.error


@pytest.mark.parametrize(
    ("answer", "ok", "permanent"),
    [
        ({"errcode": 0, "errmsg": "ok"}, True, False),
        ({"errcode": 130101, "errmsg": "send too fast"}, False, False),
        ({"errcode": 310000, "errmsg": "sign not match"}, False, True),
    ],
)
async def test_dingtalk_errcodes_map_to_outcomes(
    receiver: HttpReceiver,
    client: httpx.AsyncClient,
    make_alert: MakeAlert,
    answer: dict[str, object],
    ok: bool,
    permanent: bool,
) -> None:
    receiver.answer(200, answer)

    result = await dingtalk(receiver, client).send(make_alert(address=DING_TOKEN))

    assert (result.ok, result.permanent) == (ok, permanent)
    if not ok:
        assert str(answer["errcode"]) in result.error
        assert DING_SECRET not in result.error


async def test_dingtalk_hanging_robot_is_retried(
    receiver: HttpReceiver, client: httpx.AsyncClient, make_alert: MakeAlert
) -> None:
    receiver.hang = True

    result = await dingtalk(receiver, client, timeout=0.2).send(make_alert(address=DING_TOKEN))

    assert (result.ok, result.permanent, result.error) == (False, False, "timeout")


def test_dingtalk_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        DingTalkNotifier("")


def test_dingtalk_repr_hides_the_secret(receiver: HttpReceiver, client: httpx.AsyncClient) -> None:
    assert DING_SECRET not in repr(dingtalk(receiver, client))
