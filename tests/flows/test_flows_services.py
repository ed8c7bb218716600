"""Transcripts for talk, the safety plan, settings, privacy and home."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from flowchat import Chat, buttons, events, ids, last_question, signal

from flows import FlowEngine


def test_talk_is_a_routine_self_referral_with_time_and_channel(chat: Chat) -> None:
    result = chat.command("talk")
    assert ids(result) == ["talk.intro", "talk.when.q"]
    assert buttons(result) == ["asap", "break_time", "after_school", "anytime"]
    chat.say("放学后")
    result = chat.say("2")
    assert events(result, "case_requested") == [
        {
            "priority": "routine",
            "reason": "self_referral",
            "categories": [],
            "flow": "talk",
            "preferred_time": "after_school",
            "preferred_channel": "chat",
        }
    ]
    assert ids(result) == ["talk.done", "home.menu.q"]


def test_talk_cancelled_makes_no_request(chat: Chat) -> None:
    chat.command("talk")
    result = chat.command("cancel")
    assert ids(result) == ["talk.cancelled", "home.menu.q"]
    assert not events(result, "case_requested")


PLAN = ["睡不着", "听歌", "找小明打球", "妈妈 138xxxx", "心理老师, 12356", "把药交给妈妈"]


def test_a_new_safety_plan_in_six_stanley_brown_steps(chat: Chat) -> None:
    result = chat.command("plan")
    assert ids(result) == ["plan.intro", "plan.step1.q"]
    asked = []
    for answer in PLAN:
        asked.append(last_question(result).text_id)
        result = chat.say(answer)
    assert asked == [f"plan.step{n}.q" for n in range(1, 7)]
    review = last_question(result)
    assert review.text_id == "plan.review.q"
    assert review.params["people"] == "妈妈 138xxxx"
    result = chat.press("plan_save")
    (saved,) = events(result, "safety_plan_saved")
    assert saved["plan"] == dict(
        zip(
            ["warning_signs", "coping", "distraction", "people", "professionals", "environment"],
            PLAN,
            strict=True,
        )
    )
    assert ids(result) == ["plan.saved", "home.menu.q"]


def test_plan_shows_the_saved_plan_and_editing_keeps_skipped_steps(chat: Chat) -> None:
    chat.profile = dataclasses.replace(
        chat.profile, safety_plan={"warning_signs": "睡不着", "coping": "听歌"}
    )
    result = chat.command("plan")
    shown = result.replies[0]
    assert shown.text_id == "plan.show"
    assert shown.params["coping"] == "听歌"
    assert shown.params["people"] == "—"
    assert buttons(result) == ["plan_edit", "plan_keep"]
    chat.press("plan_edit")
    chat.say("总是一个人待着")
    for _ in range(5):
        result = chat.press("skip")
    assert last_question(result).params["coping"] == "听歌"
    result = chat.press("plan_save")
    assert events(result, "safety_plan_saved")[0]["plan"] == {
        "warning_signs": "总是一个人待着",
        "coping": "听歌",
    }


def test_keeping_the_plan_saves_nothing(chat: Chat) -> None:
    chat.profile = dataclasses.replace(chat.profile, safety_plan={"coping": "画画"})
    chat.command("plan")
    result = chat.press("plan_keep")
    assert ids(result) == ["plan.kept", "home.menu.q"]
    assert not events(result, "safety_plan_saved")


def test_a_very_long_plan_answer_is_kindly_refused(chat: Chat) -> None:
    chat.command("plan")
    result = chat.say("很" * 4096)
    assert ids(result) == ["input.too_long", "plan.step1.q"]
    assert result.replies[0].params == {"max": "500"}
    assert chat.where == ("safety_plan", "plan_warning_signs")


def test_redo_starts_the_plan_over(chat: Chat) -> None:
    chat.command("plan")
    for answer in PLAN:
        chat.say(answer)
    result = chat.press("plan_redo")
    assert last_question(result).text_id == "plan.step1.q"


def test_settings_language_and_reminder(chat: Chat) -> None:
    result = chat.command("settings")
    assert buttons(result) == ["language", "reminder", "done"]
    chat.press("language")
    result = chat.say("English")
    assert events(result, "language_changed") == [{"language": "en"}]
    assert result.language == "en"
    assert ids(result) == ["settings.saved", "settings.menu.q"]
    chat.press("reminder")
    chat.say("Friday")
    result = chat.say("16:30")
    assert events(result, "reminder_preference_set") == [
        {"enabled": True, "weekday": 4, "minute": 16 * 60 + 30}
    ]
    chat.press("reminder")
    result = chat.press("reminder_off")
    assert events(result, "reminder_preference_set") == [
        {"enabled": False, "weekday": None, "minute": None}
    ]
    result = chat.press("done")
    assert ids(result) == ["settings.closed", "home.menu.q"]


def test_mydata_requests_an_export(chat: Chat) -> None:
    result = chat.command("mydata")
    assert events(result, "data_export_requested") == [{"at": "2025-03-07T16:30:00+08:00"}]
    assert ids(result) == ["privacy.export.done", "home.menu.q"]


def test_delete_asks_first_and_mentions_retained_safety_records(
    engine: FlowEngine, chat: Chat
) -> None:
    result = chat.command("delete")
    assert ids(result) == ["privacy.delete.q"]
    assert "{retention}" in engine.catalog.text("privacy.delete.q", "zh")
    result = chat.press("delete_no")
    assert not events(result, "data_deletion_confirmed")
    chat.command("delete")
    result = chat.say("确定删除")
    assert events(result, "data_deletion_confirmed") == [{"at": "2025-03-07T16:30:00+08:00"}]


def test_home_menu_buttons_start_flows(chat: Chat) -> None:
    result = chat.say("hi")
    assert ids(result) == ["home.menu.q"]
    assert buttons(result) == ["checkin", "talk", "plan", "help"]
    chat.press("1")
    assert chat.where == ("checkin", "mood")


def test_home_listens_to_free_text(chat: Chat) -> None:
    chat.say("hi")
    result = chat.say("今天还行")
    assert ids(result) == ["home.heard.q"]  # a program that may not have understood
    assert buttons(result) == ["talk", "help", "more"]  # a person first, no survey pushed
    result = chat.say("最近好累，压力好大", signal("low", "distress"))
    assert ids(result) == ["home.heard_low.q"]
    assert ids(chat.press("more")) == ["home.menu.q"]


def test_home_help_button_shows_help(chat: Chat) -> None:
    chat.say("hi")
    assert ids(chat.press("help")) == ["help.text", "home.menu.q"]


def test_a_later_disclosure_at_home_gets_its_own_caring_reply(chat: Chat) -> None:
    chat.say("hi")
    bullying = signal("moderate", "bullying")
    assert ids(chat.say("他们又打我了", bullying))[0] == "care.safeguarding"
    chat.now += timedelta(days=7)
    result = chat.say("今天又被打了", bullying)
    assert ids(result)[0] == "care.safeguarding"
    assert events(result, "case_requested")[0]["reason"] == "safeguarding"
