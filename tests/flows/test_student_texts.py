"""What a student reads on /help, and on /cancel in /settings and in a saved plan."""

from __future__ import annotations

from collections.abc import Callable

from flowchat import Chat, buttons, ids, rendered

from flows import FlowEngine

PLAN = {
    "plan_warning_signs": "睡不着",
    "plan_coping": "听音乐",
    "plan_distraction": "打球",
    "plan_people": "妈妈",
    "plan_professionals": "心理老师",
    "plan_environment": "把药收好",
}


def test_help_lists_every_command_for_a_student_who_may_use_them(
    engine: FlowEngine, chat: Chat
) -> None:
    result = chat.command("help")
    assert ids(result)[:2] == ["help.text", "help.commands"]
    text = "\n".join(rendered(engine, result))
    for command in ("/checkin", "/talk", "/plan", "/mydata", "/delete", "/settings", "/cancel"):
        assert command in text


def test_help_for_a_pupil_without_consent_lists_only_what_works(
    engine: FlowEngine, new_chat: Callable[..., Chat]
) -> None:
    chat = new_chat(grade=5, age=10, enrolled=True, onboarded=True, guardian_consent=False)
    result = chat.command("help")
    assert "help.commands_limited" in ids(result)
    text = rendered(engine, result)[1]
    assert "/talk" in text
    assert "/checkin 心情小调查" not in text
    assert "/plan 我的安全计划" not in text


def test_help_before_sign_up_points_to_start(new_chat: Callable[..., Chat]) -> None:
    assert "help.commands_new" in ids(new_chat().command("help"))


def test_cancel_in_settings_does_not_say_settings_are_done(chat: Chat) -> None:
    chat.command("settings")
    result = chat.command("cancel")
    assert "settings.cancelled" in ids(result)
    assert "settings.closed" not in ids(result)


def test_settings_offer_no_reminders_to_a_pupil_without_consent(
    engine: FlowEngine, new_chat: Callable[..., Chat], chat: Chat
) -> None:
    limited = new_chat(grade=5, age=10, enrolled=True, onboarded=True, guardian_consent=False)
    result = limited.command("settings")
    assert buttons(result) == ["language", "done"]
    assert "reminder" in buttons(chat.command("settings"))


def test_cancel_while_viewing_a_saved_plan_says_it_is_still_saved(
    new_chat: Callable[..., Chat],
) -> None:
    chat = new_chat(
        grade=8, age=14, enrolled=True, guardian_consent=True, onboarded=True, safety_plan=PLAN
    )
    assert "plan.show" in ids(chat.command("plan"))
    result = chat.command("cancel")
    assert "plan.unchanged" in ids(result)
    assert "plan.cancelled" not in ids(result)


def test_an_unknown_command_points_to_help_not_to_commands_that_may_be_refused(
    engine: FlowEngine, new_chat: Callable[..., Chat]
) -> None:
    limited = new_chat(grade=5, age=10, enrolled=True, onboarded=True, guardian_consent=False)
    (text, *_rest) = rendered(engine, limited.command("dance"))
    assert "/help" in text
    assert "/checkin" not in text
