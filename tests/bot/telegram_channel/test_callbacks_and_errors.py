"""Callback data, keyboards, error classification and the Telegram notifier (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fake_telegram import BAD_REQUEST, FLOOD, FORBIDDEN, RecordingRequest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.telegram.callbacks import (
    MAX_DATA,
    CounselorPress,
    StudentPress,
    open_actions,
    parse,
    prompt_token,
    student_data,
    student_keyboard,
)
from bot.channels.telegram.errors import Verdict, classify, send_result
from bot.channels.telegram.notifier import TelegramNotifier
from bot.channels.telegram.texts import LANGUAGES, load_texts
from escalation.notifiers.base import Alert
from flows import FlowConfig, FlowEngine

keys = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80
)


@given(
    token=st.text("0123456789abcdef", min_size=8, max_size=8), key=keys, number=st.integers(1, 9)
)
def test_student_data_fits_and_reads_back(token: str, key: str, number: int) -> None:
    data = student_data(token, key, number)
    assert len(data.encode()) <= MAX_DATA
    assert parse(data) == StudentPress(token, key if data.endswith(f":{key}") else str(number))


@given(st.text(max_size=100))
def test_arbitrary_data_never_raises(data: str) -> None:
    assert parse(data) is None or isinstance(parse(data), StudentPress | CounselorPress)


def test_counselor_data_needs_a_number_and_a_known_action() -> None:
    assert parse("c:12:ack") == CounselorPress(12, "ack")
    assert parse("c:12:delete_everything") is None
    assert parse("c:x:ack") is None
    assert parse("s:only-two") is None


def test_every_option_key_of_every_flow_fits_in_callback_data() -> None:
    engine = FlowEngine(FlowConfig())
    flow_keys = {
        option
        for flow in engine.flows.values()
        for state in flow.states.values()
        for option in state.options
    }
    assert flow_keys  # the registry was read
    token = prompt_token("q", ["a"])
    assert all(student_data(token, key, 1).endswith(f":{key}") for key in flow_keys)


def test_the_token_names_the_question_not_just_its_options() -> None:
    options = ["not_at_all", "several_days"]
    assert prompt_token("第一题", options) != prompt_token("第二题", options)
    assert prompt_token("第一题", options) == prompt_token("第一题", options)


def test_short_labels_share_rows_and_long_ones_get_their_own() -> None:
    short = student_keyboard([("zh", "简体中文"), ("en", "English")], "t")
    long = student_keyboard([("a", "一半以上的天数都是这样"), ("b", "完全不会")], "t")
    assert [len(row) for row in short.inline_keyboard] == [2]
    assert [len(row) for row in long.inline_keyboard] == [1, 1]


def test_case_actions_follow_the_status() -> None:
    assert open_actions("open") == ["ack", "contacted", "refer", "resolve", "take"]
    assert open_actions("acknowledged") == ["contacted", "refer", "resolve", "take"]
    assert open_actions("referred") == ["refer", "resolve", "take"]
    assert open_actions("resolved") == []
    assert open_actions("open", ("ack", "contacted", "refer", "resolve")) == [
        "ack",
        "contacted",
        "refer",
        "resolve",
    ]


@pytest.mark.parametrize(
    ("error", "verdict", "permanent"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Verdict.PERMANENT, True),
        (ChatMigrated(-100123), Verdict.PERMANENT, True),
        (RetryAfter(timedelta(seconds=7)), Verdict.RETRY, False),
        (TimedOut(), Verdict.RETRY, False),
        (NetworkError("connection reset"), Verdict.RETRY, False),
        (BadRequest("Bad Request: chat not found"), Verdict.DROP, True),
        (TelegramError("something new"), Verdict.RETRY, False),
    ],
)
def test_telegram_errors_are_classified_in_one_place(
    error: TelegramError, verdict: Verdict, permanent: bool
) -> None:
    assert classify(error) is verdict
    result = send_result(error)
    assert (result.ok, result.permanent) == (False, permanent)
    assert type(error).__name__ in result.error


def test_student_texts_exist_in_both_languages() -> None:
    texts = load_texts()
    zh, en = (set(texts.student_texts[lang]) for lang in LANGUAGES)
    assert zh == en
    assert set(texts.command_texts["zh"]) == set(texts.command_texts["en"])
    assert "12356" in texts.student("error", "en", resources="• 12356")


ALERT = Alert(
    notification_id=9,
    idempotency_key="case:3:alert:t1",
    kind="alert",
    case_id=3,
    case_number="2026-00003",
    priority="urgent",
    status="open",
    school="示例中学",
    class_name="初二(1)班",
    student_display="测试甲",
    reason="risk_high",
    explanation="active ideation",
    recipient_name="陈老师",
    recipient_role="school_counselor",
    channel="telegram",
    address="5151",
    created_at=datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
)


@pytest.fixture
async def bot() -> Bot:
    api = RecordingRequest()
    bot = Bot("1:offline", request=api, get_updates_request=api)
    await bot.initialize()
    return bot


async def test_the_notifier_delivers_with_buttons_and_reports_the_message_id(bot: Bot) -> None:
    notifier = TelegramNotifier(bot, load_texts())
    result = await notifier.send(ALERT)
    api = bot.request
    assert isinstance(api, RecordingRequest)
    [sent] = api.of("sendMessage")
    assert result.ok
    assert result.external_id == str(sent.message_id)
    assert int(sent.params["chat_id"]) == 5151
    assert sent.callback_data == [
        "c:3:ack",
        "c:3:contacted",
        "c:3:refer",
        "c:3:resolve",
        "c:3:take",
    ]
    assert "案例编号 Case: 2026-00003" in sent.text


@pytest.mark.parametrize(
    ("failure", "permanent"), [(FORBIDDEN, True), (FLOOD, False), (BAD_REQUEST, True)]
)
async def test_the_notifier_turns_api_errors_into_results(
    bot: Bot, failure: dict[str, object], permanent: bool
) -> None:
    api = bot.request
    assert isinstance(api, RecordingRequest)
    # The rate limiter is not in front of a bare Bot, so one scripted answer is enough.
    api.failures["sendMessage"] = [dict(failure)]
    result = await TelegramNotifier(bot, load_texts()).send(ALERT)
    assert (result.ok, result.permanent) == (False, permanent)


async def test_a_non_numeric_address_fails_without_a_call(bot: Bot) -> None:
    result = await TelegramNotifier(bot, load_texts()).send(replace(ALERT, address="@chen"))
    api = bot.request
    assert isinstance(api, RecordingRequest)
    assert (result.ok, result.permanent) == (False, True)
    assert api.of("sendMessage") == []


async def test_an_update_edits_the_alert_in_place(bot: Bot) -> None:
    update = replace(ALERT, kind="update", status="acknowledged", extra={"edit_message_id": "4321"})
    result = await TelegramNotifier(bot, load_texts()).send(update)
    api = bot.request
    assert isinstance(api, RecordingRequest)
    assert api.of("sendMessage") == []
    [edit] = api.of("editMessageText")
    assert (int(edit.params["chat_id"]), int(edit.params["message_id"])) == (5151, 4321)
    markup = str(edit.params.get("reply_markup", ""))
    assert "c:3:ack" not in markup  # acknowledged: that button is gone
    assert "c:3:contacted" in markup
    assert (result.ok, result.external_id) == (True, "4321")


async def test_an_update_whose_alert_is_gone_is_sent_anew(bot: Bot) -> None:
    api = bot.request
    assert isinstance(api, RecordingRequest)
    api.failures["editMessageText"] = [
        {"error_code": 400, "description": "Bad Request: message to edit not found"}
    ]
    update = replace(ALERT, kind="update", status="resolved", extra={"edit_message_id": "9"})
    result = await TelegramNotifier(bot, load_texts()).send(update)
    assert result.ok
    assert len(api.of("sendMessage")) == 1
