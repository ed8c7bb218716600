"""Weekly check-in transcripts: every scoring branch, the closes, and interruptions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from flowchat import FREQ, Chat, buttons, events, ids, last_question, signal

from flows import FlowConfig, FlowEngine, InstrumentBand, StepResult


def answer_items(chat: Chat, scores: Sequence[int | None]) -> StepResult:
    result = chat.last
    for score in scores:
        result = chat.press("skip" if score is None else FREQ[score])
    assert result is not None
    return result


def checkin(
    chat: Chat,
    phq: Sequence[int | None],
    gad: Sequence[int | None] = (0, 0),
    *,
    mood: str = "3",
    note: str | None = None,
    asq: Sequence[str] = ("no", "no", "no", "no"),
) -> StepResult:
    """Run a PHQ/GAD check-in: 2 or 9 PHQ answers, 2 or 7 GAD answers, then the ASQ."""
    chat.command("checkin")
    chat.say(mood)
    if note is None:
        chat.press("skip")
    else:
        chat.say(note)
    answer_items(chat, phq[:2])
    result = answer_items(chat, gad[:2])
    if len(phq) > 2:
        result = answer_items(chat, phq[2:])
    if len(gad) > 2:
        result = answer_items(chat, gad[2:])
    if chat.where == ("checkin", "asq_1"):
        for answer in asq:
            result = chat.press(answer)
    return result


def scored(result: StepResult) -> dict[str, tuple[int | None, str]]:
    return {e["instrument"]: (e["score"], e["band"]) for e in events(result, "checkin_completed")}


def test_a_calm_week_is_short_and_ends_warmly(chat: Chat) -> None:
    result = checkin(chat, [0, 1], [1, 0], mood="4")
    assert scored(result) == {
        "mood": (4, "good"),
        "phq2": (1, "negative"),
        "gad2": (1, "negative"),
    }
    assert events(result, "screen_completed")[0]["band"] == "negative"  # the ASQ, every time
    assert ids(result) == ["checkin.close.low", "checkin.next.q"]
    assert buttons(result) == ["talk", "plan", "done"]
    result = chat.press("done")
    assert ids(result) == ["checkin.bye", "home.menu.q"]
    assert chat.where == ("home", "menu")


def test_the_check_in_opens_with_mood_and_an_optional_note(chat: Chat) -> None:
    result = chat.command("checkin")
    assert ids(result) == ["checkin.intro", "checkin.mood.q"]
    assert buttons(result) == ["mood_1", "mood_2", "mood_3", "mood_4", "mood_5"]
    result = chat.say("很好")  # the label, typed
    assert chat.context["mood"] == "mood_5"
    assert ids(result) == ["checkin.note.q"]
    assert buttons(result) == ["skip"]
    result = chat.say("数学考试好紧张")
    assert ids(result) == ["checkin.note.thanks", "checkin.phq.intro", "phqa.q1"]
    # The note is not kept in the conversation: the pipeline stores the message, encrypted.
    assert "数学考试好紧张" not in chat.conversation.to_json()  # type: ignore[union-attr]


def test_adolescents_get_phq_a_wording_and_adults_phq_9(new_chat: Callable[..., Chat]) -> None:
    teen = new_chat(grade=9, age=15, guardian_consent=True, onboarded=True)
    adult = new_chat(grade=12, age=18, guardian_consent=True, onboarded=True)
    for chat, first in ((teen, "phqa.q1"), (adult, "phq9.q1")):
        chat.command("checkin")
        chat.say("3")
        assert last_question(chat.press("skip")).text_id == first


@pytest.mark.parametrize(
    ("total", "band", "close"),
    [
        (4, "minimal", "checkin.close.some"),  # PHQ-2 was positive: still some concern
        (5, "mild", "checkin.close.some"),
        (9, "mild", "checkin.close.some"),
        (10, "moderate", "checkin.close.high"),
        (14, "moderate", "checkin.close.high"),
        (15, "moderately_severe", "checkin.close.refer"),
        (19, "moderately_severe", "checkin.close.refer"),
        (20, "severe", "checkin.close.refer"),
    ],
)
def test_phq9_edges_through_the_flow(chat: Chat, total: int, band: str, close: str) -> None:
    rest = total - 3
    items = [2, 1, *[min(3, max(0, rest - 3 * i)) for i in range(6)], 0]
    assert sum(items) == total
    result = checkin(chat, items)
    assert scored(result)["phq9"] == (total, band)
    assert scored(result)["phq2"] == (3, "positive")
    assert ids(result)[0] == close
    referrals = events(result, "case_requested")
    if close == "checkin.close.refer":
        assert referrals == [
            {
                "priority": "routine",
                "reason": "checkin_score",
                "categories": [],
                "flow": "checkin",
                "bands": {"phq9": band},
            }
        ]
    else:
        assert referrals == []


@pytest.mark.parametrize(
    ("total", "band", "close"),
    [
        (4, "minimal", "checkin.close.some"),
        (5, "mild", "checkin.close.some"),
        (9, "mild", "checkin.close.some"),
        (10, "moderate", "checkin.close.high"),
        (14, "moderate", "checkin.close.high"),
        (15, "severe", "checkin.close.refer"),
    ],
)
def test_gad7_edges_through_the_flow(chat: Chat, total: int, band: str, close: str) -> None:
    rest = total - 3
    items = [2, 1, *[min(3, max(0, rest - 3 * i)) for i in range(5)]]
    assert sum(items) == total
    result = checkin(chat, [0, 0], items)
    assert scored(result)["gad7"] == (total, band)
    assert "phq9" not in scored(result)
    assert ids(result)[0] == close


def test_both_full_forms_when_both_screens_are_positive(chat: Chat) -> None:
    result = checkin(chat, [2, 2, 1, 1, 1, 1, 1, 1, 0], [2, 2, 1, 1, 1, 1, 1])
    assert scored(result)["phq9"] == (10, "moderate")
    assert scored(result)["gad7"] == (9, "mild")
    assert [e["instrument"] for e in events(result, "checkin_completed")] == [
        "mood",
        "phq2",
        "phq9",
        "gad2",
        "gad7",
    ]


def test_the_phq9_event_names_the_form_used(chat: Chat) -> None:
    result = checkin(chat, [2, 1, 0, 0, 0, 0, 0, 0, 0])
    (phq9,) = [e for e in events(result, "checkin_completed") if e["instrument"] == "phq9"]
    assert phq9["form"] == "phq_a"
    # Asked in PHQ-A order (down first), stored in PHQ-9 order (interest first).
    assert phq9["answers"] == [1, 2, 0, 0, 0, 0, 0, 0, 0]
    assert phq9["at"] == "2025-03-07T16:30:00+08:00"


def test_item9_with_a_negative_asq_still_opens_a_case_and_says_so(chat: Chat) -> None:
    result = checkin(chat, [2, 1, 0, 0, 0, 0, 0, 0, 1])
    assert scored(result)["phq9"] == (4, "minimal")
    assert events(result, "screen_completed")[0]["band"] == "negative"
    assert [(e["priority"], e["reason"]) for e in events(result, "case_requested")] == [
        ("urgent", "phq_item9")
    ]
    assert ids(result)[0] == "checkin.close.item9"


def test_a_skipped_item9_is_no_all_clear(chat: Chat) -> None:
    result = checkin(chat, [2, 1, 0, 0, 0, 0, 0, 0, None])
    assert [(e["priority"], e["reason"]) for e in events(result, "case_requested")] == [
        ("urgent", "phq_item9_skipped")
    ]
    assert ids(result)[0] == "checkin.close.item9"


def test_item9_leads_to_the_asq_below_the_universal_grade(student: object) -> None:
    engine = FlowEngine(FlowConfig(universal_asq_from_grade=None))
    chat = Chat(engine, student)  # type: ignore[arg-type]
    result = checkin(chat, [2, 1, 0, 0, 0, 0, 0, 0, 0])
    assert not events(result, "screen_completed")  # item 9 = 0: no ASQ without the rule
    chat = Chat(engine, student)  # type: ignore[arg-type]
    result = checkin(chat, [2, 1, 0, 0, 0, 0, 0, 0, 2])
    assert events(result, "screen_completed")[0]["band"] == "negative"
    assert ids(result)[0] == "checkin.close.item9"


def test_prorating_one_and_two_skipped_items(chat: Chat) -> None:
    result = checkin(chat, [2, 2, 2, 2, 2, 1, 1, None, 0])
    assert scored(result)["phq9"] == (14, "moderate")  # 12 / 8 × 9 = 13.5 → 14
    chat2 = Chat(chat.engine, chat.profile)
    result = checkin(chat2, [2, 2, 2, 2, 2, 2, None, None, 0])
    assert scored(result)["phq9"] == (15, "moderately_severe")  # 12 / 7 × 9 = 15.43 → 15


def test_three_skipped_items_leave_phq9_unscored(chat: Chat) -> None:
    result = checkin(chat, [2, 2, None, None, None, 1, 1, 1, 0])
    assert scored(result)["phq9"] == (None, "unscored")
    assert ids(result)[0] == "checkin.close.some"


def test_a_skip_in_a_two_item_screen_leads_to_the_full_form(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("3")
    chat.press("skip")
    chat.press("several_days")
    chat.press("skip")
    answer_items(chat, [0, 0])
    assert chat.where == ("checkin", "phq_3")  # "several days" + skip is not a negative screen


def test_everything_skipped_never_says_doing_ok(chat: Chat) -> None:
    result = checkin(chat, [None] * 9, [None] * 7, mood="4")
    assert scored(result)["phq2"] == (None, "unscored")
    assert scored(result)["phq9"] == (None, "unscored")
    assert scored(result)["gad7"] == (None, "unscored")
    assert "checkin.close.low" not in ids(result)


def test_a_very_low_mood_alone_is_met_with_some_care(chat: Chat) -> None:
    result = checkin(chat, [0, 0], mood="1")
    assert scored(result)["mood"] == (1, "low")
    assert ids(result)[0] == "checkin.close.some"


@pytest.mark.parametrize(
    ("answers", "band", "close"),
    [
        (["never", "never", "sometimes"], "well", "checkin.close.low"),
        (["sometimes", "never", "often"], "some_difficulty", "checkin.close.some"),
        (["often", "often", "never"], "struggling", "checkin.close.high"),
        (["skip", "skip", "skip"], "unscored", "checkin.close.unclear"),
        (["never", "skip", "never"], "unscored", "checkin.close.unclear"),
    ],
)
def test_younger_pupils_get_the_mood_check(
    new_chat: Callable[..., Chat], answers: list[str], band: str, close: str
) -> None:
    chat = new_chat(grade=4, age=10, guardian_consent=True, onboarded=True)
    chat.command("checkin")
    chat.say("4")
    result = chat.press("skip")
    assert ids(result) == ["moodcheck.intro", "moodcheck.q1"]
    assert buttons(result) == ["never", "sometimes", "often", "skip"]
    for answer in answers:
        result = chat.press(answer)
    assert scored(result)["mood_check"][1] == band
    assert "phq2" not in scored(result)
    assert ids(result)[0] == "simple." + close  # grade 4 reads the simple register
    assert buttons(result) == ["talk", "done"]  # no suicide safety plan for a 10-year-old


def test_which_screen_a_grade_gets_is_configuration(student: object) -> None:
    everyone_phq = FlowEngine(
        FlowConfig(instruments=(InstrumentBand(3, 12, "phq_gad"),), default_instrument="phq_gad")
    )
    chat = Chat(everyone_phq, student)  # type: ignore[arg-type]
    chat.profile = chat.profile.__class__(
        grade=4, age=10, guardian_consent=True, onboarded=True, enrolled=True
    )
    chat.command("checkin")
    chat.say("3")
    assert last_question(chat.press("skip")).text_id == "phqa.q1"


def test_an_unknown_grade_is_placed_by_age(new_chat: Callable[..., Chat]) -> None:
    older = new_chat(age=15, guardian_consent=True, onboarded=True)
    younger = new_chat(age=10, guardian_consent=True, onboarded=True)
    unknown = new_chat(guardian_consent=True, onboarded=True)
    for chat, first in ((older, "phqa.q1"), (younger, "moodcheck.q1"), (unknown, "phqa.q1")):
        chat.command("checkin")
        chat.say("3")
        assert last_question(chat.press("skip")).text_id == first


@pytest.mark.parametrize(("choice", "flow"), [("talk", "talk"), ("plan", "safety_plan")])
def test_the_close_offers_a_counselor_and_the_safety_plan(
    chat: Chat, choice: str, flow: str
) -> None:
    checkin(chat, [2, 2, 2, 2, 1, 1, 1, 1, 0])
    result = chat.press(choice)
    assert chat.where[0] == flow
    assert events(result, "flow_changed")[0]["previous"] == "checkin"


def test_a_crisis_mid_check_in_overrides_the_question(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("2")
    chat.press("skip")
    chat.press("several_days")
    result = chat.say("我不想活了，我想自杀", signal("high", "active_ideation"))
    assert chat.where == ("crisis", "acuity")
    assert events(result, "case_requested") == [
        {
            "priority": "urgent",
            "reason": "risk_high",
            "categories": ["active_ideation"],
            "flow": "checkin",
        }
    ]
    assert ids(result) == [
        "crisis.high.intro",
        "crisis.counselor_contacted",
        "crisis.resources",
        "crisis.acuity.q",
    ]
    assert not events(result, "checkin_completed")
    assert "phq_2" not in chat.context  # the message was not taken as an answer


def test_an_imminent_signal_typed_as_a_choice_answer_still_overrides(chat: Chat) -> None:
    chat.command("checkin")
    result = chat.say("我已经吃了一整瓶药", signal("imminent", "attempt", "means_method"))
    assert chat.where == ("crisis", "safe_q")
    assert ids(result)[0] == "crisis.imminent.hurt"  # an ambulance first
    assert events(result, "case_requested")[0]["priority"] == "emergency"


def test_moderate_ideation_mid_check_in_screens_then_resumes(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("2")
    chat.say("活着没意思", signal("moderate", "passive_ideation"))
    assert chat.where == ("asq", "q1")
    assert chat.conversation.paused is not None  # type: ignore[union-attr]
    assert chat.conversation.paused.state == "anything_else"  # type: ignore[union-attr]
    for _ in range(4):
        result = chat.press("no")
    assert events(result, "screen_completed")[0]["band"] == "negative"
    assert not events(result, "case_requested")
    assert ids(result) == ["asq.negative", "flow.resume", "checkin.note.q"]
    assert chat.where == ("checkin", "anything_else")
    assert chat.context["mood"] == "mood_2"  # earlier answers survived the detour
    chat.press("skip")
    answer_items(chat, [0, 0, 0, 0])
    result = answer_items(chat, [None] * 0)
    for _ in range(4):
        result = chat.press("no")
    assert scored(result)["mood"] == (2, "low")


def test_a_safeguarding_disclosure_keeps_the_check_in_going(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("3")
    result = chat.say("班上有人天天打我", signal("moderate", "bullying"))
    assert events(result, "case_requested") == [
        {
            "priority": "urgent",  # raised from triage's routine: a child may be unsafe tonight
            "reason": "safeguarding",
            "categories": ["bullying"],
            "flow": "checkin",
        }
    ]
    assert ids(result)[0] == "care.safeguarding"
    assert chat.where == ("checkin", "phq_1")


def test_a_disclosure_typed_at_a_choice_question_gets_care_not_a_nag(chat: Chat) -> None:
    chat.command("checkin")
    result = chat.say("我同桌说她想死", signal("moderate", "peer_concern"))
    assert ids(result) == ["care.peer", "checkin.mood.q"]
    assert chat.where == ("checkin", "mood")
    # The caring reply is not repeated within half an hour; the case request goes every time.
    chat.now += timedelta(minutes=10)
    result = chat.say("她真的很难过", signal("moderate", "peer_concern"))
    assert ids(result) == ["input.choose_option", "checkin.mood.q"]
    assert len(events(result, "case_requested")) == 1
    chat.now += timedelta(minutes=30)
    result = chat.say("她又说了", signal("moderate", "peer_concern"))
    assert ids(result) == ["care.peer", "checkin.mood.q"]


def test_cancel_mid_check_in_saves_nothing(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("3")
    result = chat.say("退出")
    assert ids(result) == ["checkin.cancelled", "home.menu.q"]
    assert not events(result, "checkin_completed")
    assert chat.where == ("home", "menu")


def test_a_check_in_left_for_a_day_expires(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("3")
    chat.now += timedelta(hours=25)
    result = chat.say("2")
    assert ids(result) == ["flow.expired", "home.menu.q"]
    assert "phq_1" not in chat.context
    assert chat.where == ("home", "menu")


def test_a_check_in_paused_overnight_is_still_there(chat: Chat) -> None:
    chat.command("checkin")
    chat.say("3")
    chat.now += timedelta(hours=10)
    result = chat.press("skip")
    assert ids(result)[-1] == "phqa.q1"
