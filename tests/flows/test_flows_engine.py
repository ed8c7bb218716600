"""Engine behaviour across flows: restarts, bad input, commands anywhere, contract checks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from flowchat import NOW, Chat, buttons, events, ids, signal

from flows import (
    NO_SIGNAL,
    Conversation,
    DefinitionError,
    FlowEngine,
    FlowError,
    Frame,
    Input,
    RiskSignal,
    StudentProfile,
)
from flows.definition import load_flows, parse_flow


def test_a_restart_mid_check_in_resumes_where_the_student_was(student: StudentProfile) -> None:
    first = FlowEngine()
    chat = Chat(first, student)
    chat.command("checkin")
    chat.say("3")
    chat.press("skip")
    chat.press("several_days")
    stored = chat.conversation.to_json()  # type: ignore[union-attr]

    # A new process: a fresh engine, the conversation read back from storage.
    second = FlowEngine()
    restored = Conversation.from_json(stored)
    result = second.step(restored, student, Input.text("3"), NO_SIGNAL, NOW)
    assert (result.conversation.flow, result.conversation.state) == ("checkin", "gad_1")
    assert dict(result.conversation.context)["phq_1"] == "several_days"
    assert dict(result.conversation.context)["phq_2"] == "more_than_half"


def test_the_stored_conversation_is_plain_json(chat: Chat) -> None:
    chat.say("活着没意思", signal("moderate", "hopelessness"))
    data = json.loads(chat.conversation.to_json())  # type: ignore[union-attr]
    assert data == {
        "v": 1,
        "flow": "asq",
        "state": "q1",
        "context": {"asq_started": True},
        "paused": None,  # nothing to resume from home
        "updated_at": "2025-03-07T16:30:00+08:00",
    }


def test_a_paused_flow_round_trips() -> None:
    conversation = Conversation(
        "asq", "q2", {"asq_q1": "no"}, Frame("checkin", "phq_3", {"mood": "mood_2"}), NOW
    )
    again = Conversation.from_json(conversation.to_json())
    assert again == conversation
    assert again.paused == Frame("checkin", "phq_3", {"mood": "mood_2"})


@pytest.mark.parametrize(
    "bad",
    [
        "[]",
        '{"v": 2, "flow": "home", "state": "menu"}',
        '{"v": 1, "flow": "", "state": "menu"}',
        '{"v": 1, "flow": "home", "state": "menu", "context": []}',
        '{"v": 1, "flow": "home", "state": "menu", "updated_at": 5}',
        '{"v": 1, "flow": "home", "state": "menu", "updated_at": "2025-03-07T16:30:00"}',
    ],
)
def test_malformed_stored_conversations_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match=r"conversation|paused|timezone"):
        Conversation.from_json(bad)


def test_stored_context_cannot_be_changed_behind_the_engines_back() -> None:
    context = {"answers": [1]}
    conversation = Conversation("checkin", "mood", context)
    context["answers"].append(2)
    assert conversation.context["answers"] == [1]
    with pytest.raises(TypeError):
        conversation.context["x"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("flow", "state"),
    [("gone_flow", "q1"), ("checkin", "removed_state"), ("checkin", "result")],
)
def test_a_conversation_in_a_state_that_no_longer_waits_is_reset_kindly(
    engine: FlowEngine, student: StudentProfile, flow: str, state: str
) -> None:
    result = engine.step(Conversation(flow, state), student, Input.text("2"), NO_SIGNAL, NOW)
    assert ids(result) == ["flow.reset", "home.menu.q"]
    assert (result.conversation.flow, result.conversation.state) == ("home", "menu")


def test_a_paused_frame_that_no_longer_exists_is_dropped(
    engine: FlowEngine, student: StudentProfile
) -> None:
    stored = Conversation("asq", "q1", {}, Frame("checkin", "removed_state"))
    result = engine.step(stored, student, Input.text("no"), NO_SIGNAL, NOW)
    assert result.conversation.paused is None


# -- bad input: every kind gets a kind re-prompt of the same question -----------------------


@pytest.mark.parametrize(
    ("input", "note"),
    [
        (Input.text("9"), "input.choose_option"),  # out of range
        (Input.text("0"), "input.choose_option"),
        (Input.button("bogus"), "input.stale_button"),  # unknown button
        (Input.button("agree"), "input.stale_button"),  # stale button from onboarding
        (Input.button("mood_3"), "input.stale_button"),  # from the previous question
        (Input.text(""), "input.empty"),
        (Input.text("   \n"), "input.empty"),
        (Input.text("好" * 4096), "input.choose_option"),
        (Input.text("😭😭😭"), "input.choose_option"),
        (Input.text("我也不知道"), "input.choose_option"),
    ],
)
def test_bad_input_at_a_choice_question_gets_the_same_question_again(
    chat: Chat, input: Input, note: str
) -> None:
    chat.command("checkin")
    chat.say("3")
    chat.press("skip")
    before = chat.where
    result = chat.send(input)
    assert ids(result) == [note, "phqa.q1"]
    assert buttons(result) == [
        "not_at_all",
        "several_days",
        "more_than_half",
        "nearly_every_day",
        "skip",
    ]
    assert chat.where == before
    assert not result.events


def test_a_sticker_gets_a_gentle_reply_and_the_same_question(chat: Chat) -> None:
    chat.command("checkin")
    result = chat.send(Input.media("sticker"))
    assert ids(result) == ["input.media", "checkin.mood.q"]
    assert chat.where == ("checkin", "mood")


def test_a_sticker_from_a_new_student_leads_to_onboarding(new_chat: object) -> None:
    chat = new_chat()  # type: ignore[operator]
    result = chat.send(Input.media("voice"))
    assert ids(result) == ["input.media", "onboarding.welcome", "onboarding.language.q"]


def test_a_command_mid_flow_is_honoured(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("3")
    result = chat.command("help")
    assert ids(result) == ["help.text", "help.commands", "checkin.note.q"]
    assert chat.where == ("checkin", "anything_else")
    result = chat.say("/talk")
    assert chat.where == ("talk", "when")
    assert events(result, "flow_changed") == [
        {"flow": "talk", "state": "when", "previous": "checkin"}
    ]


def test_help_and_cancel_work_as_typed_words_in_both_languages(chat: Chat) -> None:
    chat.command("settings")
    assert ids(chat.say("help"))[0] == "help.text"
    assert ids(chat.say("帮助"))[0] == "help.text"
    assert chat.where == ("settings", "menu")
    assert ids(chat.say("Exit"))[0] == "settings.cancelled"
    assert chat.where == ("home", "menu")


def test_cancel_with_nothing_running(chat: Chat) -> None:
    chat.say("hi")
    assert ids(chat.command("cancel")) == ["cancel.nothing", "home.menu.q"]


def test_an_unknown_command_is_explained(chat: Chat) -> None:
    chat.command("checkin")
    assert ids(chat.command("dance")) == ["command.unknown", "checkin.mood.q"]
    assert chat.where == ("checkin", "mood")


def test_a_student_without_a_stored_conversation_lands_on_the_menu(chat: Chat) -> None:
    result = chat.say("在吗")
    assert ids(result) == ["home.menu.q"]
    assert events(result, "flow_changed") == [{"flow": "home", "state": "menu", "previous": None}]


def test_a_system_input_for_a_brand_new_student_does_nothing(chat: Chat) -> None:
    result = chat.system("code_ok")
    assert result.replies == ()
    assert [event.name for event in result.events] == ["flow_changed"]
    assert chat.where == ("home", "menu")


def test_naive_times_are_refused(engine: FlowEngine, student: StudentProfile) -> None:
    with pytest.raises(FlowError, match="timezone-aware"):
        engine.step(None, student, Input.text("hi"), NO_SIGNAL, datetime(2025, 3, 7, 16, 30))


def test_the_result_tells_which_language_to_render_in(chat: Chat) -> None:
    assert chat.say("hi").language == "zh"


def test_replies_and_events_keep_their_order(chat: Chat) -> None:
    result = chat.say("我想自杀", signal("high", "active_ideation"))
    kinds = [type(effect).__name__ for effect in result.effects]
    assert kinds[0] == "CaseRequested"  # the case request comes first
    assert kinds[-1] == "FlowChanged"  # flow_changed is last
    assert result.replies
    assert result.events


def test_risk_signals_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown risk level"):
        RiskSignal("severe")  # type: ignore[arg-type]
    assert RiskSignal("low", frozenset({"distress"})).rank() == 1


def test_profiles_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        StudentProfile(language="fr")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("profile", "restricted"),
    [
        (StudentProfile(age=13), True),
        (StudentProfile(age=13, guardian_consent=True), False),
        (StudentProfile(age=14), False),
        (StudentProfile(grade=8), True),  # grade 8 may still be 13: ask for consent
        (StudentProfile(grade=9), False),
        (StudentProfile(age_group="under_age"), True),
        (StudentProfile(), False),
    ],
)
def test_who_needs_guardian_consent(profile: StudentProfile, restricted: bool) -> None:
    assert profile.restricted(14) is restricted


# -- definitions are checked when the engine starts -----------------------------------------


def flows_with(name: str, toml: str) -> dict[str, object]:
    flows: dict[str, object] = dict(load_flows())
    flows[name] = parse_flow(name, toml, f"{name}.toml")
    return flows


def test_an_unknown_condition_stops_the_engine() -> None:
    toml = """
[flow]
entries = ["a"]
[states.a]
ask = "home.menu.q"
input = "choice"
options = ["yes"]
[[states.a.go]]
to = "b"
if = "moon_is_full"
[states.b]
final = true
"""
    with pytest.raises(DefinitionError, match="unknown condition 'moon_is_full'"):
        FlowEngine(flows=flows_with("extra", toml))  # type: ignore[arg-type]


def test_an_unknown_action_or_target_stops_the_engine() -> None:
    toml = """
[flow]
entries = ["a"]
[states.a]
actions = ["launch_rockets"]
final = true
then = "nowhere"
"""
    with pytest.raises(DefinitionError) as raised:
        FlowEngine(flows=flows_with("extra", toml))  # type: ignore[arg-type]
    assert "unknown action 'launch_rockets'" in str(raised.value)
    assert "unknown flow 'nowhere'" in str(raised.value)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[flow]\nentries=['a']\n[states.a]\nfinal=true\nsurprise=1\n", "states.a.surprise"),
        ("[flow]\nentries=['a']\n[states.a]\ninput='choice'\n", "states.a.options"),
        ("[flow]\nentries=[]\n[states.a]\nfinal=true\n", "flow.entries"),
        ("[flow]\nentries=['a']\n[states.a]\ninput='maybe'\n", "states.a.input"),
        ("[flow\n", "x.toml"),
        ("[flow]\nentries=['a']\n[states.a]\nthen='home'\n", "states.a.then"),
    ],
)
def test_malformed_definitions_name_the_file_and_key(toml: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message.replace(".", r"\.")):
        parse_flow("x", toml, "x.toml")


def test_the_engine_lists_its_commands(engine: FlowEngine) -> None:
    assert engine.commands == {
        "help",
        "cancel",
        "start",
        "checkin",
        "talk",
        "plan",
        "settings",
        "mydata",
        "delete",
    }


def test_an_expired_screen_forgets_the_flow_it_paused(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("活着没意思", signal("moderate", "passive_ideation"))
    assert chat.conversation.paused is not None  # type: ignore[union-attr]
    chat.now += timedelta(hours=30)
    result = chat.say("no")
    # A screen left unanswered is a refusal (NIMH: positive): a person hears, the student too.
    assert ids(result) == ["asq.incomplete", "flow.expired", "home.menu.q"]
    assert chat.conversation.paused is None  # type: ignore[union-attr]
