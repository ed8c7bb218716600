"""What the web port delivers, against HeartGuard itself: flood control from the student service,
crisis replies never held, reminders as the page's banner, a file from /mydata.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest
from heartguard_server import (
    RunningHeartGuard,
    heartguard_settings,
    identities,
    stored_lines,
)

from bot.services.render import Outbound

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
JSON = {"Accept": "application/json"}
SLOW_DOWN = "慢一点"


@pytest.fixture
def server(db_url: str) -> Iterator[RunningHeartGuard]:
    running = RunningHeartGuard(
        heartguard_settings(db_url, web={"flood_burst": 3, "flood_interval": "30s"})
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def chat(server: RunningHeartGuard) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        page = client.get("/chat")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        yield client, found.group(1)


def send(chat: tuple[httpx.Client, str], text: str) -> None:
    client, csrf = chat
    answer = client.post("/chat/send", data={"csrf": csrf, "text": text}, headers=JSON)
    assert answer.json() == {"ok": True}


def test_a_flooding_student_is_read_in_full_and_a_crisis_is_never_held(
    server: RunningHeartGuard, chat: tuple[httpx.Client, str]
) -> None:
    for number in range(6):
        send(chat, f"第{number}条")
    stored = asyncio.run(stored_lines(server.settings.database.url))
    assert [text for d, _, text in stored if d == "in"] == [f"第{n}条" for n in range(6)]
    assert sum(1 for d, _, text in stored if d == "out" and SLOW_DOWN in text) == 1

    send(chat, "我已经吃了一整瓶药")
    stored = asyncio.run(stored_lines(server.settings.database.url))
    after = stored[[text for _, _, text in stored].index("我已经吃了一整瓶药") + 1 :]
    assert any("12356" in text for d, _, text in after if d == "out")


def test_a_reminder_waits_as_the_pages_banner_until_the_student_writes(
    server: RunningHeartGuard, chat: tuple[httpx.Client, str]
) -> None:
    assert server.process is not None
    channels = [runner.channel for runner in server.process.runtime.scheduler.reminders]
    assert "web" in channels
    send(chat, "你好")
    [(_, subject, _)] = asyncio.run(identities(server.settings.database.url))
    port = server.process.runtime.plugs["web"].port
    assert port is not None
    reminder = Outbound("这周的心情小调查开始啦", purpose="reminder")
    assert server.call(port.deliver(subject, [reminder])).ok
    client, _ = chat
    page = client.get("/chat").text
    assert 'id="banner"' in page
    assert "这周的心情小调查开始啦" in page
    assert page.count("这周的心情小调查开始啦") == 1  # a banner, not a line of the conversation
    send(chat, "好的")
    assert 'id="banner"' not in client.get("/chat").text


def test_mydata_arrives_as_a_file_only_its_student_can_download(
    server: RunningHeartGuard, chat: tuple[httpx.Client, str]
) -> None:
    send(chat, "你好")
    client, csrf = chat
    client.post("/chat/send", data={"csrf": csrf, "text": "/mydata"}, headers=JSON)
    page = client.get("/chat").text
    found = re.search(r'href="(/chat/files/\d+)"', page)
    assert found is not None
    download = client.get(found.group(1))
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert "你好" in download.json()["messages"][0]["text"]
    with httpx.Client(base_url=server.url) as stranger:
        stranger.get("/chat")
        assert stranger.get(found.group(1)).status_code == 404


def test_delete_erases_the_conversation_and_this_browser_starts_afresh(
    server: RunningHeartGuard, chat: tuple[httpx.Client, str]
) -> None:
    send(chat, "我的秘密")
    client, csrf = chat
    client.post("/chat/send", data={"csrf": csrf, "text": "/delete"}, headers=JSON)
    page = client.get("/chat").text
    prompt = re.findall(r'name="prompt" value="([^"]+)"', page)[-1]
    erased = client.post(
        "/chat/send",
        data={"csrf": csrf, "button": "delete_yes", "prompt": prompt},
        headers=JSON,
    )
    assert erased.json() == {"ok": True, "reload": "/chat?erased=1"}
    fresh = client.get("/chat?erased=1").text
    assert "我的秘密" not in fresh
    assert "你的数据已经删除了" in fresh
    stored = asyncio.run(stored_lines(server.settings.database.url))
    assert all(text != "我的秘密" for _, _, text in stored)
