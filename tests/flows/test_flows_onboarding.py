"""Onboarding transcripts: language, consent, codes (all four verdicts), anonymity, age rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flowchat import Chat, buttons, events, ids, rendered

from flows import FlowEngine


@pytest.fixture
def newcomer(new_chat: Callable[..., Chat]) -> Chat:
    """A student nobody knows yet; anonymous use is not allowed."""
    return new_chat()


def to_code_entry(chat: Chat) -> None:
    chat.say("你好")
    chat.press("zh")
    chat.press("agree")


def test_an_unknown_student_is_welcomed_in_both_languages(newcomer: Chat) -> None:
    result = newcomer.say("hi")
    assert ids(result) == ["onboarding.welcome", "onboarding.language.q"]
    assert buttons(result) == ["zh", "en"]
    assert events(result, "flow_changed") == [
        {"flow": "onboarding", "state": "language", "previous": None}
    ]


def test_choosing_english_switches_the_language_at_once(newcomer: Chat) -> None:
    newcomer.say("hi")
    result = newcomer.say("2")
    assert events(result, "language_changed") == [{"language": "en"}]
    assert result.language == "en"
    assert ids(result) == ["onboarding.about", "onboarding.consent.q"]


def test_onboarding_says_what_heartguard_is_not_and_never_promises_secrecy(
    engine: FlowEngine, newcomer: Chat
) -> None:
    newcomer.say("hi")
    zh_text = "\n".join(rendered(engine, newcomer.press("zh")))
    assert "不是急救服务" in zh_text
    assert "电脑程序" in zh_text  # the student knows a program is talking
    assert "马上发出求助" in zh_text
    assert "不能替你保密" in zh_text
    english = engine.catalog.render("onboarding.about", "en")
    assert "not an emergency service" in english
    assert "computer program" in english
    assert "I will send an alert at once" in english


def test_consent_more_info_then_agree(newcomer: Chat) -> None:
    newcomer.say("hi")
    newcomer.press("zh")
    result = newcomer.press("more_info")
    assert ids(result) == ["onboarding.more_info", "onboarding.consent.q"]
    result = newcomer.say("我同意")
    assert events(result, "consent_given") == [{"at": "2025-03-07T16:30:00+08:00"}]
    assert newcomer.where == ("onboarding", "code_entry")


def test_declining_consent_leaves_help_open_and_no_events(newcomer: Chat) -> None:
    newcomer.say("hi")
    newcomer.press("zh")
    result = newcomer.press("disagree")
    assert ids(result) == ["onboarding.declined"]
    assert not events(result, "consent_given")
    assert newcomer.where == ("home", "menu")
    # The next message leads back to onboarding: nothing works without consent but help.
    assert ids(newcomer.say("hello again"))[0] == "onboarding.welcome"
    assert "help.text" in ids(newcomer.command("help"))


def test_a_valid_code_links_the_student_and_asks_about_reminders(newcomer: Chat) -> None:
    to_code_entry(newcomer)
    result = newcomer.say(" abcde-23456 ")
    assert events(result, "enrollment_code_submitted") == [{"code": "ABCDE23456"}]
    assert newcomer.where == ("onboarding", "code_wait")
    result = newcomer.system("code_ok", enrolled=True, guardian_consent=True, age=15, grade=9)
    assert ids(result) == ["onboarding.code.ok", "onboarding.reminder.q"]
    result = newcomer.press("reminder_weekly")
    assert events(result, "reminder_preference_set") == [
        {"enabled": True, "weekday": None, "minute": None}
    ]
    assert events(result, "onboarding_completed") == [{"anonymous": False, "restricted": False}]
    assert ids(result) == ["onboarding.done", "home.menu.q"]
    assert newcomer.where == ("home", "menu")


@pytest.mark.parametrize(
    ("verdict", "text_id"),
    [
        ("code_invalid", "onboarding.code.invalid"),
        ("code_expired", "onboarding.code.expired"),
        ("code_used", "onboarding.code.used"),
    ],
)
def test_bad_codes_are_handled_kindly_and_can_be_retried(
    newcomer: Chat, verdict: str, text_id: str
) -> None:
    to_code_entry(newcomer)
    newcomer.say("ABCDE-23456")
    result = newcomer.system(verdict)
    assert ids(result) == [text_id, "onboarding.code.retry_q"]
    assert buttons(result) == ["no_code"]
    result = newcomer.say("FGHJK-23456")
    assert events(result, "enrollment_code_submitted") == [{"code": "FGHJK23456"}]
    newcomer.system("code_ok", enrolled=True, guardian_consent=True, age=15)
    assert newcomer.where == ("onboarding", "reminder")


def test_text_that_is_not_a_code_gets_help_instead_of_a_lookup(newcomer: Chat) -> None:
    to_code_entry(newcomer)
    result = newcomer.say("我不知道我的码是什么")
    assert ids(result) == ["onboarding.code.bad_format", "onboarding.code.retry_q"]
    assert not events(result, "enrollment_code_submitted")


def test_a_second_code_typed_while_waiting_replaces_the_first(newcomer: Chat) -> None:
    to_code_entry(newcomer)
    newcomer.say("ABCDE-23456")
    result = newcomer.say("ABCDE-23457")
    assert events(result, "enrollment_code_submitted") == [{"code": "ABCDE23457"}]
    assert newcomer.where == ("onboarding", "code_wait")


def test_a_late_or_stray_system_answer_is_ignored(chat: Chat) -> None:
    chat.command("checkin")
    before = chat.where
    result = chat.system("code_ok")
    assert result.effects == ()
    assert chat.where == before


def test_no_code_without_anonymous_use_points_to_the_teacher(newcomer: Chat) -> None:
    to_code_entry(newcomer)
    result = newcomer.press("no_code")
    assert ids(result) == ["onboarding.no_code"]
    assert not events(result, "onboarding_completed")


def test_under_the_consent_age_without_guardian_consent_only_help_and_counselor(
    newcomer: Chat,
) -> None:
    to_code_entry(newcomer)
    newcomer.say("ABCDE-23456")
    result = newcomer.system("code_ok", enrolled=True, guardian_consent=False, age=12, grade=6)
    assert ids(result) == ["onboarding.limited", "home.limited.q"]
    assert result.replies[0].params == {"consent_age": "14"}
    assert events(result, "onboarding_completed") == [{"anonymous": False, "restricted": True}]
    assert buttons(result) == ["talk", "help"]
    # The check-in and the safety plan are not available; the counselor is.
    assert ids(newcomer.command("checkin"))[0] == "access.restricted"
    assert ids(newcomer.command("plan"))[0] == "access.restricted"
    assert newcomer.command("talk").replies[0].text_id == "talk.intro"


def test_under_the_consent_age_with_guardian_consent_gets_everything(newcomer: Chat) -> None:
    to_code_entry(newcomer)
    newcomer.say("ABCDE-23456")
    result = newcomer.system("code_ok", enrolled=True, guardian_consent=True, age=12, grade=6)
    assert ids(result) == ["onboarding.code.ok", "onboarding.reminder.q"]


def test_anonymous_use_when_allowed(new_chat: Callable[..., Chat]) -> None:
    chat = new_chat(anonymous_allowed=True)
    chat.say("hi")
    chat.press("en")
    result = chat.press("agree")
    assert buttons(result) == ["have_code", "anonymous"]
    result = chat.say("Stay anonymous")
    assert ids(result) == ["onboarding.anon.intro", "onboarding.anon.age_q"]
    result = chat.press("of_age")
    assert events(result, "anonymous_chosen") == [{"age_group": "of_age"}]
    result = chat.press("reminder_none")
    assert events(result, "reminder_preference_set") == [
        {"enabled": False, "weekday": None, "minute": None}
    ]
    assert events(result, "onboarding_completed") == [{"anonymous": True, "restricted": False}]
    assert ids(chat.command("checkin"))[-1] == "checkin.mood.q"


def test_anonymous_and_under_age_is_limited(new_chat: Callable[..., Chat]) -> None:
    chat = new_chat(anonymous_allowed=True)
    chat.say("hi")
    chat.press("zh")
    chat.press("agree")
    chat.press("anonymous")
    result = chat.say("还没满")
    assert events(result, "anonymous_chosen") == [{"age_group": "under_age"}]
    assert ids(result)[0] == "onboarding.limited"
    assert ids(chat.command("checkin"))[0] == "access.restricted"


def test_no_code_with_anonymous_use_allowed_offers_anonymity(
    new_chat: Callable[..., Chat],
) -> None:
    chat = new_chat(anonymous_allowed=True)
    chat.say("hi")
    chat.press("zh")
    chat.press("agree")
    chat.press("have_code")
    result = chat.press("no_code")
    assert ids(result) == ["onboarding.anon.intro", "onboarding.anon.age_q"]


def test_start_again_when_onboarded_just_welcomes_back(chat: Chat) -> None:
    result = chat.command("start")
    assert ids(result) == ["onboarding.welcome_back", "home.menu.q"]
    assert chat.where == ("home", "menu")


def test_flow_commands_before_onboarding_lead_to_onboarding(newcomer: Chat) -> None:
    result = newcomer.command("checkin")
    assert ids(result) == ["access.onboard_first", "onboarding.welcome", "onboarding.language.q"]
    assert newcomer.where == ("onboarding", "language")


def test_cancel_during_onboarding_then_come_back(newcomer: Chat) -> None:
    to_code_entry(newcomer)
    result = newcomer.say("退出")
    assert ids(result) == ["onboarding.cancelled"]
    assert newcomer.where == ("home", "menu")
    assert ids(newcomer.command("start"))[0] == "onboarding.welcome"
