"""What reaches a WeChat student later: customer-service messages within the window, reminders.

Against HeartGuard itself and the local fake of WeChat's API: every line is stored for the
chat page first; a push goes out only while the student's 48-hour / 5-message window is open,
with a link to the page; a reminder goes as a subscription notice where a template is set and
waits on the page as a banner otherwise (or when the student did not accept one).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from heartguard_server import RunningHeartGuard, stored_lines
from wechat_calls import OPENID, post, text_xml
from wechat_fake import FakeWeChat

from bot.channels.port import Delivery
from bot.channels.wechat.api import CUSTOMER_SERVICE_PATH, SUBSCRIPTION_PATH
from bot.channels.wechat.kit import WeChatPort
from bot.channels.wechat.replies import MAX_BYTES, as_text, fit
from bot.services.render import Outbound

pytestmark = pytest.mark.e2e


@pytest.fixture
def port(server: RunningHeartGuard) -> WeChatPort:
    assert server.process is not None
    plugged = server.process.runtime.plugs["wechat"].port
    assert isinstance(plugged, WeChatPort)
    return plugged


def deliver(server: RunningHeartGuard, port: WeChatPort, *replies: Outbound) -> Delivery:
    return server.call(port.deliver(OPENID, list(replies))).status


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_later_lines_are_pushed_five_times_within_the_window_and_all_wait_on_the_page(
    server: RunningHeartGuard,
    client: httpx.Client,
    port: WeChatPort,
    fake: FakeWeChat,
) -> None:
    post(client, text_xml("你好"))
    results = [deliver(server, port, Outbound(f"老师的第{n}句话")) for n in range(1, 7)]
    assert results == [Delivery.DELIVERED] * 5 + [Delivery.FAILED]
    sent = fake.to(CUSTOMER_SERVICE_PATH)
    assert len(sent) == 5
    assert sent[0].body["touser"] == OPENID
    assert sent[0].body["text"]["content"].startswith("老师的第1句话")
    assert "/chat/enter?t=" in sent[0].body["text"]["content"]
    stored = asyncio.run(stored_lines(server.settings.database.url))
    assert sum(1 for d, _, text in stored if d == "out" and text.startswith("老师的第")) == 6

    post(client, text_xml("我回来了"))  # the student wrote: a fresh window
    assert deliver(server, port, Outbound("又见面了")) is Delivery.DELIVERED


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_student_who_left_the_account_is_unreachable_by_push(
    server: RunningHeartGuard,
    client: httpx.Client,
    port: WeChatPort,
    fake: FakeWeChat,
) -> None:
    post(client, text_xml("你好"))
    fake.script(CUSTOMER_SERVICE_PATH, 43004)
    assert deliver(server, port, Outbound("还在吗？")) is Delivery.BLOCKED
    assert server.call(port.deliver("oNobody", [Outbound("x")])).status is Delivery.FAILED


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_reminders_go_as_subscription_notices_or_wait_as_the_pages_banner(
    server: RunningHeartGuard,
    client: httpx.Client,
    port: WeChatPort,
    fake: FakeWeChat,
) -> None:
    post(client, text_xml("你好"))
    reminder = Outbound("这周的心情小调查开始啦，点这里做一做吧。", purpose="reminder")
    assert deliver(server, port, reminder) is Delivery.DELIVERED
    assert fake.to(SUBSCRIPTION_PATH) == []  # no template: the banner waits on the page

    port.template_id = "tmpl-weekly"
    assert deliver(server, port, reminder) is Delivery.DELIVERED
    [notice] = fake.to(SUBSCRIPTION_PATH)
    assert notice.body["template_id"] == "tmpl-weekly"
    assert len(notice.body["data"]["thing1"]["value"]) <= 20
    assert "/chat/enter?t=" in notice.body["page"]

    fake.script(SUBSCRIPTION_PATH, 43101)  # the student did not accept this notice
    assert deliver(server, port, reminder) is Delivery.DELIVERED
    assert fake.to(CUSTOMER_SERVICE_PATH) == []  # reminders never use the 5-message budget


def test_a_long_reply_is_cut_at_a_line_and_points_to_the_page() -> None:
    replies = [Outbound("现在就可以拨打：\n• 全国心理援助热线：12356")] + [
        Outbound("很长的一段话。" * 40) for _ in range(5)
    ]
    text = as_text(replies, "zh")
    cut = fit(text, "zh", "https://xinwei.example.cn/chat/enter?t=abc")
    assert len(cut.encode()) <= MAX_BYTES
    assert cut.startswith("现在就可以拨打：\n• 全国心理援助热线：12356")  # the start stays
    assert cut.endswith("https://xinwei.example.cn/chat/enter?t=abc")
    assert fit("短短一句", "zh", None) == "短短一句"
    question = as_text([Outbound("今天怎么样？", (("good", "还不错"), ("bad", "不太好")))], "en")
    assert question == "今天怎么样？\n1. 还不错\n2. 不太好\n(reply with the number)"
