"""``/api/v1`` against HeartGuard itself: bearer tokens, scope, JSON errors, the takeover.

No token or a revoked one is 401; another school's case is 404 and never its contents; a body
that is not JSON is 400 and a wrong field 422 with its name, never a traceback. Nothing a
student wrote reaches any log line on the way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from console_kit import issue_token, open_case_for, revoke_token, seed_console
from heartguard_server import RunningHeartGuard, heartguard_settings, stored_lines

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


def api(server: RunningHeartGuard, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=30)


def test_no_token_a_wrong_one_and_a_revoked_one_are_401(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any]
) -> None:
    token_id, token = asyncio.run(issue_token(db_url, seeded["counselor"]))
    for bad in (None, "hgt_not-a-token", "Basic abc"):
        with api(server, bad) as client:
            refused = client.get("/cases")
            assert refused.status_code == 401
            assert refused.json() == {"error": "a valid bearer token is required"}
    with api(server, token) as client:
        assert client.get("/cases").status_code == 200
        asyncio.run(revoke_token(db_url, token_id))
        assert client.get("/cases").status_code == 401
        assert client.post("/cases/1/ack").status_code == 401


def test_another_schools_case_is_404_and_never_shown(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any]
) -> None:
    own = asyncio.run(open_case_for(db_url, "S001"))
    other = seeded["other_case"]
    _, token = asyncio.run(issue_token(db_url, seeded["counselor"]))
    with api(server, token) as client:
        listed = client.get("/cases").json()["cases"]
        assert [case["id"] for case in listed] == [own]
        for path in (f"/cases/{other}", "/cases/999999", "/cases/abc", "/cases/9999999999"):
            missing = client.get(path)
            assert missing.status_code == 404
            assert "外校丙" not in missing.text
        for action, body in (
            ("ack", {}),
            ("notes", {"note": "x"}),
            ("resolve", {"resolution": "safe"}),
            ("messages", {"text": "你好"}),
        ):
            assert client.post(f"/cases/{other}/{action}", json=body).status_code == 404
    _, district = asyncio.run(issue_token(db_url, seeded["district"]))
    with api(server, district) as client:
        assert {case["id"] for case in client.get("/cases").json()["cases"]} == {own, other}


def test_bad_bodies_get_clear_answers(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any]
) -> None:
    case_id = asyncio.run(open_case_for(db_url, "S001"))
    _, token = asyncio.run(issue_token(db_url, seeded["counselor"]))
    with api(server, token) as client:
        url = f"/cases/{case_id}"
        not_json = client.post(url + "/notes", content=b"{nope", headers={"content-type": "x"})
        assert not_json.status_code == 400
        assert not_json.json() == {"error": "the body is not JSON"}
        assert client.post(url + "/notes", json=[1, 2]).status_code == 400
        missing = client.post(url + "/notes", json={})
        assert missing.status_code == 422
        assert missing.json()["error"] == "note: required"
        wrong = client.post(url + "/resolve", json={"resolution": "gone"})
        assert wrong.status_code == 422
        assert wrong.json()["error"].startswith("resolution: expected one of")
        assert client.post(url + "/refer", json={"hospital": "x"}).status_code == 422
        assert client.post(url + "/messages", json={"text": 5}).status_code == 422
        assert client.post(url + "/launch", json={}).status_code == 404
        assert "Traceback" not in wrong.text


def test_acting_and_writing_through_the_api(
    server: RunningHeartGuard,
    db_url: str,
    seeded: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    case_id = asyncio.run(open_case_for(db_url, "S001"))
    _, token = asyncio.run(issue_token(db_url, seeded["counselor"]))
    words = "我是陈老师，我在这里陪你，能告诉我你现在在哪里吗"
    with api(server, token) as client:
        url = f"/cases/{case_id}"
        assert client.post(url + "/ack").json()["ok"] is True
        assert client.post(url + "/notes", json={"note": "家长已知情"}).status_code == 200
        sent = client.post(url + "/messages", json={"text": words})
        assert sent.status_code == 200
        assert sent.json()["message_id"] > 0
        assert client.post(url + "/contacted", json={}).status_code == 200
        refer = client.post(url + "/refer", json={"hospital": seeded["hospital"]})
        assert refer.status_code == 200
        detail = client.get(url).json()
        assert detail["student"] == "测试甲"
        assert detail["grade"] == 8
        assert [(s["instrument"], s["score"]) for s in detail["scores"]] == [("PHQ-9", 17)]
        assert detail["owner"] == {"state": "counselor", "counselor": "陈老师"}
        assert detail["wishes"] == {"preferred_time": "asap", "preferred_channel": "chat"}
        assert any(m["sender"] == "counselor" and m["text"] == words for m in detail["messages"])
        assert any(e.get("note") == "家长已知情" for e in detail["timeline"])
        done = client.post(url + "/resolve", json={"resolution": "safe"})
        assert done.status_code == 200
        again = client.post(url + "/ack")
        assert again.status_code == 409
        spec = client.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.")
        assert "/cases/{id}/messages" in spec["paths"]
    assert any(text == words for _, _, text in asyncio.run(stored_lines(db_url)))
    for record in caplog.records:
        assert words not in record.getMessage()
        assert "家长已知情" not in record.getMessage()
