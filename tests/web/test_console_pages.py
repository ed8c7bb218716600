"""The console's pages over HTTP against HeartGuard itself: sign-in and its defences, scope.

Sign-in rotates the session (no fixation), every post needs the session's CSRF token, failed
sign-ins lock the name, a student's chat cookie never opens the console, and a counselor of
one school gets the same 404 for another school's case as for no case, on pages and posts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest
from console_kit import PASSWORD, csrf_of, open_case_for, seed_console, sign_in
from heartguard_server import RunningHeartGuard, heartguard_settings
from sqlalchemy import select

from storage.db import create_engine, session_factory
from storage.models import CaseEvent

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded(db_url: str) -> dict[str, Any]:
    return asyncio.run(seed_console(db_url))


@pytest.fixture
def server(db_url: str, seeded: dict[str, Any]) -> Iterator[RunningHeartGuard]:
    running = RunningHeartGuard(heartguard_settings(db_url))
    running.start()
    yield running
    running.stop()


def client(server: RunningHeartGuard) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)


async def events(db_url: str, case_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            rows = (
                await session.execute(
                    select(CaseEvent.actor, CaseEvent.action, CaseEvent.details)
                    .where(CaseEvent.case_id == case_id)
                    .order_by(CaseEvent.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return [(a, b, c) for a, b, c in rows]


def test_sign_in_rotates_the_session_and_sign_out_ends_it(server: RunningHeartGuard) -> None:
    with client(server) as web:
        assert web.get("/console").headers["location"] == "/console/signin"
        first = sign_in(web, "陈老师")
        assert first.status_code == 303
        assert first.headers["location"] == "/console"
        cookie = web.cookies["hg_console"]
        assert "httponly" in first.headers["set-cookie"].lower()
        queue = web.get("/console")
        assert queue.headers["cache-control"] == "no-store"
        assert web.get("/console/static/console.js").headers["cache-control"] == "no-cache"
        assert queue.status_code == 200
        assert "案例队列" in queue.text
        # Signing in again in the same browser gives a new session; the old id is dead.
        sign_in(web, "陈老师")
        assert web.cookies["hg_console"] != cookie
    with client(server) as stale:
        stale.cookies.set("hg_console", cookie, domain="127.0.0.1")
        assert stale.get("/console").status_code == 303
    with client(server) as web:
        sign_in(web, "陈老师")
        page = web.get("/console")
        out = web.post("/console/signout", data={"csrf": csrf_of(page.text)})
        assert out.headers["location"] == "/console/signin"
        assert web.get("/console").status_code == 303


def test_a_planted_session_id_is_not_carried_over(server: RunningHeartGuard) -> None:
    """Fixation: whatever console cookie the browser had before sign-in is worthless after."""
    with client(server) as attacker:
        sign_in(attacker, "区老师")
        planted = attacker.cookies["hg_console"]
    with client(server) as victim:
        victim.cookies.set("hg_console", planted, domain="127.0.0.1")
        sign_in(victim, "陈老师")
        assert victim.cookies["hg_console"] != planted
    with client(server) as attacker:
        attacker.cookies.set("hg_console", planted, domain="127.0.0.1")
        assert attacker.get("/console").status_code == 303  # ended at the victim's sign-in


def test_csrf_is_required_on_every_post(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any]
) -> None:
    case_id = asyncio.run(open_case_for(db_url, "S001"))
    with client(server) as web:
        # A sign-in form posted from elsewhere (no pre-sign-in cookie) is refused.
        forged = web.post("/console/signin", data={"who": "陈老师", "password": PASSWORD})
        assert forged.status_code == 403
        sign_in(web, "陈老师")
        for data in ({"action": "ack"}, {"action": "ack", "csrf": "x" * 43}):
            refused = web.post(f"/console/cases/{case_id}/act", data=data)
            assert refused.status_code == 403
        assert web.post("/console/duty/shift", data={"do": "start"}).status_code == 403
        assert web.post("/console/signout", data={}).status_code == 303
        assert web.get("/console").status_code == 200  # still signed in: no CSRF, no sign-out
    assert "ack" not in [action for _, action, _ in asyncio.run(events(db_url, case_id))]


def test_failed_sign_ins_lock_the_name(server: RunningHeartGuard) -> None:
    with client(server) as web:
        for _ in range(5):
            assert sign_in(web, "陈老师", "wrong password!").status_code == 401
        locked = sign_in(web, "陈老师")
        assert locked.status_code == 401
        assert "尝试次数太多" in locked.text


def test_totp_is_asked_when_set(server: RunningHeartGuard, seeded: dict[str, Any]) -> None:
    with client(server) as web:
        assert sign_in(web, "王老师").status_code == 401
        code = pyotp.TOTP(seeded["wang_totp"]).now()
        assert sign_in(web, "王老师", totp=code).status_code == 303


def test_a_student_session_never_opens_the_console(server: RunningHeartGuard) -> None:
    with client(server) as student:
        student.get("/chat")
        chat_cookie = student.cookies["hg_chat"]
        student.cookies.set("hg_console", chat_cookie, domain="127.0.0.1")
        assert student.get("/console").status_code == 303
        assert student.get("/console/queue/poll").status_code == 401
        assert student.get("/api/v1/cases").status_code == 401


def test_another_schools_case_is_404_on_pages_and_posts(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any]
) -> None:
    other = seeded["other_case"]
    own = asyncio.run(open_case_for(db_url, "S001"))
    with client(server) as web:
        sign_in(web, "陈老师")
        queue = web.get("/console")
        assert f"/console/cases/{own}" in queue.text
        assert f"/console/cases/{other}" not in queue.text
        assert "外校丙" not in queue.text
        csrf = csrf_of(queue.text)
        assert web.get("/console/cases/99999999999").status_code == 404
        huge = web.post("/console/cases/99999999999/act", data={"csrf": csrf, "action": "ack"})
        assert huge.status_code == 404
        missing = web.get("/console/cases/999999")
        hidden = web.get(f"/console/cases/{other}")
        assert missing.status_code == hidden.status_code == 404
        assert "外校丙" not in hidden.text
        for action in ("ack", "take", "note", "resolve"):
            data = {"csrf": csrf, "action": action, "note": "x", "resolution": "safe"}
            forged = web.post(f"/console/cases/{other}/act", data=data)
            assert forged.status_code == 404
        poll = web.get(f"/console/cases/{other}/poll", params={"after": 0})
        assert poll.status_code == 404
    recorded = asyncio.run(events(db_url, other))
    assert all(action in ("refused",) for _, action, _ in recorded)
    assert len(recorded) >= 4  # every attempt is on the case's timeline
    with client(server) as district:
        sign_in(district, "区老师")
        assert district.get(f"/console/cases/{other}").status_code == 200


def test_acting_on_a_case_from_its_page(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any]
) -> None:
    case_id = asyncio.run(open_case_for(db_url, "S001"))
    with client(server) as web:
        sign_in(web, "陈老师")
        page = web.get(f"/console/cases/{case_id}")
        assert page.status_code == 200
        text = page.text
        assert "测试甲" in text
        assert "初二(1)班" in text
        assert "示例中学" in text
        assert "PHQ-9" in text
        assert "moderately_severe" in text
        assert "越快越好" in text
        assert "在这里发消息" in text
        csrf = csrf_of(text)
        url = f"/console/cases/{case_id}/act"
        for data in (
            {"action": "ack"},
            {"action": "contacted"},
            {"action": "note", "note": "已和家长通话"},
            {"action": "refer", "hospital": str(seeded["hospital"])},
            {"action": "resolve", "resolution": "referred_out", "note": "住院"},
        ):
            done = web.post(url, data={"csrf": csrf, **data})
            assert done.status_code == 303, data
            assert "error=" not in done.headers["location"], done.headers["location"]
        bad = web.post(url, data={"csrf": csrf, "action": "resolve", "resolution": "nope"})
        assert "error=" in bad.headers["location"]
        closed = web.get(f"/console/cases/{case_id}")
        assert "已和家长通话" in closed.text
        assert "已解决" in closed.text
    actions = [action for _, action, _ in asyncio.run(events(db_url, case_id))]
    for expected in ("viewed", "ack", "contacted", "note", "referral_sent", "resolve"):
        assert expected in actions
    referral = next(d for _, a, d in asyncio.run(events(db_url, case_id)) if a == "referral_sent")
    assert referral["hospital"] == seeded["hospital"]


def test_duty_page_and_an_ad_hoc_shift(server: RunningHeartGuard) -> None:
    with client(server) as web:
        sign_in(web, "区老师")
        page = web.get("/console/duty")
        assert page.status_code == 200
        assert "陈老师" in page.text
        assert "另一中学" in page.text  # no one is on duty for BB02: a coverage gap
        csrf = csrf_of(page.text)
        started = web.post("/console/duty/shift", data={"csrf": csrf, "do": "start", "hours": "2"})
        assert "done=" in started.headers["location"]
        assert "区老师" in web.get("/console/duty").text.split("District team", 1)[1]
        ended = web.post("/console/duty/shift", data={"csrf": csrf, "do": "end"})
        assert "done=" in ended.headers["location"]


def test_take_transfer_to_a_colleague_and_to_the_district(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any]
) -> None:
    case_id = asyncio.run(open_case_for(db_url, "S001"))
    url = f"/console/cases/{case_id}/act"
    with client(server) as chen, client(server) as qu:
        sign_in(chen, "陈老师")
        sign_in(qu, "区老师")
        csrf = csrf_of(chen.get(f"/console/cases/{case_id}").text)
        qu_csrf = csrf_of(qu.get(f"/console/cases/{case_id}").text)
        assert (
            "error="
            not in chen.post(url, data={"csrf": csrf, "action": "take"}).headers["location"]
        )
        rows = qu.get("/console").text.split('id="queue-rows"', 1)[1]
        assert "陈老师" in rows  # the queue says who holds the chat
        # Held by 陈老师: 区老师 cannot write into it, and is told why.
        refused = qu.post(url, data={"csrf": qu_csrf, "action": "reply", "text": "你好"})
        assert "error=" in refused.headers["location"]
        moved = chen.post(
            url,
            data={
                "csrf": csrf,
                "action": "transfer",
                "to": str(seeded["district"]),
                "note": "请区里接手",
            },
        )
        assert "error=" not in moved.headers["location"], moved.headers["location"]
        page = qu.get(f"/console/cases/{case_id}")
        assert 'id="handback"' in page.text  # 区老师 holds it now
        assert "请区里接手" in page.text
        released = qu.post(
            url, data={"csrf": qu_csrf, "action": "transfer", "to": "district", "note": ""}
        )
        assert "error=" not in released.headers["location"], released.headers["location"]
        # A colleague out of the case's scope is refused.
        wrong = chen.post(url, data={"csrf": csrf, "action": "transfer", "to": str(seeded["wang"])})
        assert "error=" in wrong.headers["location"]
    actions = [action for _, action, _ in asyncio.run(events(db_url, case_id))]
    assert "transferred" in actions or any("transfer" in a for a in actions)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_alerts_link_to_the_console_where_the_server_is_public(db_url: str) -> None:
    public = heartguard_settings(db_url, web={"public_url": "https://xinwei.example.cn"})
    running = RunningHeartGuard(public)
    running.start()
    try:
        assert running.process is not None
        dispatcher = running.process.runtime.green.engine.dispatcher
        assert dispatcher._link(7, "counselor") == "https://xinwei.example.cn/console/cases/7"
    finally:
        running.stop()
