"""ASQ branches and the crisis flow: resources at once, a human always in reach, no dead end."""

from __future__ import annotations

import pytest
from flowchat import Chat, buttons, events, ids, rendered, signal

from flows import FlowEngine

PASSIVE = signal("moderate", "passive_ideation")


def start_asq(chat: Chat) -> None:
    chat.say("要是我不在了就好了", PASSIVE)
    assert chat.where == ("asq", "q1")


def test_moderate_suicidality_starts_the_asq_from_home(chat: Chat) -> None:
    result = chat.say("要是我不在了就好了", PASSIVE)
    assert ids(result) == ["asq.intro", "asq.q1"]
    assert buttons(result) == ["yes", "no", "refuse"]
    assert not events(result, "case_requested")
    assert chat.conversation.paused is None  # type: ignore[union-attr]


def test_all_no_is_a_negative_screen_with_a_caring_close(chat: Chat) -> None:
    start_asq(chat)
    for answer in ("否", "no", "2"):
        chat.say(answer)
    result = chat.press("no")
    assert events(result, "screen_completed") == [
        {
            "instrument": "asq",
            "answers": [0, 0, 0, 0],
            "score": None,
            "band": "negative",
            "at": "2025-03-07T16:30:00+08:00",
        }
    ]
    assert not events(result, "case_requested")
    assert ids(result) == ["asq.negative", "home.menu.q"]


@pytest.mark.parametrize(("position", "answer"), [(0, "yes"), (2, "yes"), (3, "refuse")])
def test_a_yes_or_a_refusal_leads_to_q5(chat: Chat, position: int, answer: str) -> None:
    start_asq(chat)
    answers = ["no"] * 4
    answers[position] = answer
    for given in answers:
        result = chat.press(given)
    assert ids(result) == ["asq.q5_intro", "asq.q5"]
    assert chat.where == ("asq", "q5")


def test_q5_yes_is_an_acute_positive_and_an_emergency(chat: Chat) -> None:
    start_asq(chat)
    for given in ("yes", "no", "no", "no"):
        chat.press(given)
    result = chat.say("是")
    assert events(result, "screen_completed")[0]["band"] == "acute_positive"
    assert events(result, "case_requested") == [
        {"priority": "emergency", "reason": "asq_acute_positive", "categories": [], "flow": "asq"}
    ]
    assert chat.where == ("crisis", "safe_q")
    assert ids(result) == [
        "crisis.acute.intro",
        "crisis.counselor_urgent",
        "crisis.resources_urgent",
        "crisis.safe.q",
    ]


def test_q5_no_is_a_non_acute_positive_and_urgent(chat: Chat) -> None:
    start_asq(chat)
    for given in ("no", "yes", "no", "no"):
        chat.press(given)
    result = chat.press("no")
    assert events(result, "screen_completed")[0]["band"] == "non_acute_positive"
    assert [e["priority"] for e in events(result, "case_requested")] == ["urgent"]
    assert events(result, "case_requested")[0]["reason"] == "asq_non_acute_positive"
    assert ids(result) == ["crisis.non_acute.intro", "crisis.resources", "crisis.support.q"]
    assert chat.where == ("crisis", "support")


def test_q5_refused_is_urgent_and_says_so(chat: Chat) -> None:
    start_asq(chat)
    for given in ("no", "no", "yes", "no"):
        chat.press(given)
    result = chat.press("refuse")
    assert events(result, "case_requested")[0] == {
        "priority": "urgent",
        "reason": "asq_q5_refused",
        "categories": [],
        "flow": "asq",
    }


def test_leaving_the_asq_after_a_yes_still_reaches_a_counselor(chat: Chat) -> None:
    start_asq(chat)
    chat.press("yes")
    result = chat.command("cancel")
    assert events(result, "case_requested")[0]["reason"] == "asq_incomplete_positive"
    assert events(result, "case_requested")[0]["priority"] == "urgent"
    assert events(result, "screen_completed")[0]["band"] == "incomplete_positive"
    assert ids(result) == ["asq.incomplete", "asq.cancelled", "home.menu.q"]


def test_leaving_the_asq_after_only_noes_is_a_refusal_and_reaches_a_counselor(chat: Chat) -> None:
    # NIMH: a refusal to answer is a positive screen; leaving refuses the questions left.
    start_asq(chat)
    chat.press("no")
    result = chat.command("checkin")
    assert [(e["priority"], e["reason"]) for e in events(result, "case_requested")] == [
        ("urgent", "asq_incomplete_positive")
    ]
    assert events(result, "screen_completed")[0]["answers"] == [0, None, None, None, None]
    assert ids(result)[0] == "asq.incomplete"  # the student is told
    assert chat.where == ("checkin", "mood")


def test_free_text_that_leans_yes_is_a_yes(chat: Chat) -> None:
    start_asq(chat)
    result = chat.say("有时候会这样想")
    assert "input.choose_option" not in ids(result)
    assert chat.context["asq_q1"] == "yes"
    assert chat.where == ("asq", "q2")


def test_unclear_free_text_is_asked_about_once_then_counts_as_refused(chat: Chat) -> None:
    start_asq(chat)
    result = chat.say("我也说不好")
    assert ids(result) == ["asq.unclear", "asq.q1"]
    result = chat.say("说不上来")
    assert chat.context["asq_q1"] == "refuse"
    assert chat.where == ("asq", "q2")
    for _ in range(3):
        chat.press("no")
    assert chat.where == ("asq", "q5")  # a refusal is a positive screen


def test_more_moderate_signals_inside_the_asq_do_not_restart_it(chat: Chat) -> None:
    start_asq(chat)
    chat.press("no")
    result = chat.say("真的没意思", PASSIVE)
    assert chat.where == ("asq", "q2")
    assert ids(result) == ["asq.unclear", "asq.q2"]  # read and asked about, never brushed off


def test_a_high_signal_during_the_asq_goes_to_crisis(chat: Chat) -> None:
    start_asq(chat)
    result = chat.say("我想自杀", signal("high", "active_ideation"))
    assert chat.where == ("crisis", "acuity")
    assert [(e["priority"], e["reason"]) for e in events(result, "case_requested")] == [
        ("urgent", "risk_high"),
        ("urgent", "asq_incomplete_positive"),
    ]
    assert ids(result)[0] == "crisis.high.intro"


# -- crisis ----------------------------------------------------------------------------------


def test_high_risk_shows_resources_tells_about_the_counselor_and_asks_acuity(
    engine: FlowEngine, chat: Chat
) -> None:
    result = chat.say("吃多少片安眠药会死", signal("high", "means_method"))
    assert ids(result) == [
        "crisis.high.intro",
        "crisis.means",
        "crisis.counselor_contacted",
        "crisis.resources",
        "crisis.acuity.q",
    ]
    assert buttons(result) == ["yes", "no"]
    text = "\n".join(rendered(engine, result))
    assert "12356" in text  # the caller's {resources}, rendered at once


def test_acuity_yes_raises_an_emergency(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    result = chat.press("yes")
    assert events(result, "case_requested") == [
        {"priority": "emergency", "reason": "acuity_positive", "categories": [], "flow": "crisis"}
    ]
    assert chat.where == ("crisis", "safe_q")


def test_acuity_no_moves_to_support(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    result = chat.press("no")
    assert ids(result) == ["crisis.acuity.no", "crisis.support.q"]
    assert buttons(result) == ["talk_more", "resources", "human", "plan", "ok_now"]


def test_text_instead_of_an_acuity_answer_is_heard_and_asked_once_more(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    result = chat.say("我不知道")
    assert ids(result) == ["crisis.acuity.again"]
    result = chat.say("就是很累")
    assert ids(result) == ["crisis.safe.q"]  # still unclear: safety is asked directly


def test_imminent_risk_gives_numbers_at_once_and_asks_if_safe(chat: Chat) -> None:
    result = chat.say("我现在站在楼顶", signal("imminent", "location"))
    assert events(result, "case_requested")[0]["priority"] == "emergency"
    assert events(result, "case_requested")[0]["reason"] == "risk_imminent"
    assert ids(result) == [
        "crisis.imminent.danger",
        "crisis.means",
        "crisis.counselor_urgent",
        "crisis.resources_urgent",
        "crisis.safe.q",
    ]
    result = chat.press("not_safe")
    assert ids(result) == ["crisis.not_safe", "crisis.stay.q"]
    assert buttons(result) == ["got_help", "not_yet", "talk_more"]


def test_the_student_who_keeps_talking_is_kept_company(chat: Chat) -> None:
    chat.say("我现在站在楼顶", signal("imminent", "location"))
    chat.press("safe")
    chat.press("yes")  # an adult is there
    chat.press("talk_more")
    seen = [ids(chat.say(text))[-1] for text in ("我好难受", "没人在乎", "嗯")]
    assert seen == ["crisis.heard.a", "crisis.heard.b", "crisis.heard.a"]
    assert buttons(chat.last) == ["resources", "human", "ok_now"]  # type: ignore[arg-type]


def test_a_lower_signal_inside_the_crisis_does_not_restart_it(chat: Chat) -> None:
    chat.say("我现在站在楼顶", signal("imminent", "location"))
    chat.press("safe")
    result = chat.say("我还是想死", signal("high", "active_ideation"))
    assert chat.where == ("crisis", "support")  # no adult named: go and find one
    assert [e["priority"] for e in events(result, "case_requested")] == ["urgent"]


def test_a_rising_signal_inside_the_crisis_escalates(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    result = chat.say("我已经吃了药", signal("imminent", "attempt"))
    assert chat.where == ("crisis", "safe_q")
    assert events(result, "case_requested")[0]["priority"] == "emergency"


def test_help_inside_the_crisis_repeats_the_question(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    result = chat.command("help")
    assert ids(result) == ["help.text", "crisis.support.q"]
    assert chat.where == ("crisis", "support")


@pytest.mark.parametrize(
    ("choice", "said"),
    [("resources", "crisis.resources"), ("human", "crisis.human")],
)
def test_resources_and_a_human_are_always_one_tap_away(chat: Chat, choice: str, said: str) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    result = chat.press(choice)
    assert ids(result) == [said, "crisis.support.q"]


def test_the_safety_plan_from_the_crisis(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    chat.press("plan")
    assert chat.where == ("safety_plan", "plan_warning_signs")


def test_a_restricted_student_in_crisis_plans_with_the_counselor(
    new_chat: object,
) -> None:
    chat = new_chat(age=13, grade=7, onboarded=True)  # type: ignore[operator]
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    result = chat.press("plan")
    assert ids(result) == ["crisis.plan_with_counselor", "crisis.support.q"]
    assert chat.where == ("crisis", "support")


def test_feeling_better_asks_about_safety_once_more_then_closes_without_a_survey(
    chat: Chat,
) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    result = chat.press("ok_now")
    assert ids(result) == ["crisis.recheck.q"]
    result = chat.press("safe")
    assert ids(result) == ["crisis.close", "home.calm.q"]
    assert "checkin" not in buttons(result)


def test_an_unclear_answer_to_the_safety_recheck_is_not_safe(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    chat.press("ok_now")
    result = chat.say("我不知道")
    assert ids(result) == ["crisis.safe.unclear", "crisis.not_safe", "crisis.stay.q"]


def test_cancel_leaves_the_crisis_with_help_still_in_reach(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    result = chat.say("退出")
    assert ids(result) == ["crisis.cancelled", "home.calm.q"]
    assert chat.where == ("home", "calm_menu")


def test_crisis_reaches_a_student_who_never_onboarded(new_chat: object) -> None:
    chat = new_chat()  # type: ignore[operator]
    result = chat.say("我已经吃了一整瓶药", signal("imminent", "attempt"))
    assert chat.where == ("crisis", "safe_q")
    assert events(result, "case_requested")[0]["priority"] == "emergency"
    assert events(result, "case_requested")[0]["flow"] == ""
    chat.press("safe")
    chat.press("yes")
    chat.press("ok_now")
    result = chat.press("safe")
    assert ids(result) == ["crisis.close"]  # parked quietly, onboarding comes next time
    assert ids(chat.say("hi"))[0] == "onboarding.welcome"


def test_every_crisis_question_accepts_text_and_offers_a_way_to_help(engine: FlowEngine) -> None:
    crisis = engine.flows["crisis"]
    # The acuity and "are you safe?" questions come right after the resources; every other
    # question offers the resources and a human again.
    questions = {"acuity", "acuity_again", "safe_q", "adult_q", "stay", "recheck"}
    waiting = [state for state in crisis.states.values() if state.waits]
    assert {state.name for state in waiting} >= questions
    for state in waiting:
        assert state.accept_text, state.name
        if state.name not in questions:
            assert {"resources", "human"} <= set(state.options), state.name


def test_a_high_risk_exit_word_does_not_end_the_crisis(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    result = chat.say("退出，反正我想死", signal("high", "active_ideation"))
    assert chat.where[0] == "crisis"
    assert "crisis.cancelled" not in ids(result)
    assert ids(chat.say("退出"))[0] == "crisis.cancelled"  # without the risk, it leaves


def test_feeling_better_with_a_high_risk_message_keeps_the_student_talking(chat: Chat) -> None:
    chat.say("我想自杀", signal("high", "active_ideation"))
    chat.press("no")
    result = chat.say("我现在好一些了", signal("high", "active_ideation"))
    assert ids(result) == ["crisis.means_heard", "crisis.heard.b"] or ids(result) == [
        "crisis.stay_a_while",
        "crisis.listening.q",
    ]
    assert chat.where == ("crisis", "listening")
