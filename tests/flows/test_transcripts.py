"""Issue 18's scenarios as transcripts, in Chinese and in English.

Each one is a student talking to the engine; each asserts what the student must read, what
they must never read, and which case request the step makes at which priority. (The same
scenarios run through the pipeline on a real database in ``tests/bot/test_clinical_cases.py``,
which checks the case that actually opens.) ``<ALERTED>`` / ``<FOLLOWUP>`` stand for the
caller's rendering of who was reached: the only place a counselor may be promised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from flowchat import FREQ, Chat, buttons, events, ids, rendered, signal

from flows import FlowEngine, StepResult, StudentProfile

LEVEL_1 = frozenset(
    "".join(
        line
        for line in (Path(__file__).parent / "data" / "tgh_level1.txt")
        .read_text("utf-8")
        .splitlines()
        if not line.startswith("#")
    )
)


@dataclass(frozen=True)
class Words:
    """What one language's transcript looks for."""

    rooftop: str
    dont_know: str
    listening: str
    first_step: str
    pills_ready: str
    means: str
    abuse: str
    believe: str
    no_secret: str
    police_may: str
    plea: str
    no_promise: str
    old_fallback: str
    friend: str
    friend_secret: str
    telling_helps: str
    tonight: str
    normalising: str
    survey: str
    doing_ok: str
    program: str


ZH = Words(
    rooftop="我现在站在楼顶",
    dont_know="我不知道",
    listening="想说什么都可以，慢慢说",
    first_step="离开",
    pills_ready="药已经准备好了",
    means="把能伤害自己的东西放远",
    abuse="他们说告诉老师就打我",
    believe="我相信你",
    no_secret="不能帮你保密",
    police_may="警察",
    plea="你不要告诉别人",
    no_promise="不能答应你保密",
    old_fallback="我在这儿，也在认真听",
    friend="我同桌说她想自杀",
    friend_secret="她让我别告诉任何人",
    telling_helps="不是出卖",
    tonight="她说今晚就要吃药",
    normalising="很多同学",
    survey="心情小调查",
    doing_ok="过得还可以",
    program="电脑程序",
)
EN = Words(
    rooftop="I am on the roof right now",
    dont_know="I don't know",
    listening="You can say anything, take your time",
    first_step="get away",
    pills_ready="I have the pills ready",
    means="out of reach",
    abuse="they said they will beat me if I tell the teacher",
    believe="I believe you",
    no_secret="can't keep this secret",
    police_may="police",
    plea="please don't tell anyone",
    no_promise="can't promise to keep this secret",
    old_fallback="I'm here, and I'm listening",
    friend="my friend said she wants to kill herself",
    friend_secret="she made me promise not to tell",
    telling_helps="not betraying",
    tonight="she said she will take the pills tonight",
    normalising="Lots of students",
    survey="check-in",
    doing_ok="going okay",
    program="computer program",
)
WORDS = {"zh": ZH, "en": EN}
LANGUAGES = pytest.mark.parametrize("lang", ["zh", "en"])


def teen(engine: FlowEngine, lang: str, **fields: object) -> Chat:
    base: dict[str, object] = {
        "language": lang,
        "grade": 9,
        "age": 15,
        "enrolled": True,
        "guardian_consent": True,
        "onboarded": True,
    }
    return Chat(engine, StudentProfile(**{**base, **fields}))  # type: ignore[arg-type]


def text_of(engine: FlowEngine, result: StepResult) -> str:
    return "\n".join(rendered(engine, result))


def cases(result: StepResult) -> list[tuple[str, str]]:
    return [(e["priority"], e["reason"]) for e in events(result, "case_requested")]


@LANGUAGES
def test_rooftop_and_i_dont_know(engine: FlowEngine, lang: str) -> None:
    w = WORDS[lang]
    chat = teen(engine, lang)
    result = chat.say(w.rooftop, signal("imminent", "location", "plan"))
    first = rendered(engine, result)[0]
    assert "110" in first
    assert w.first_step in first  # the number to call now, a first step
    assert "12356" not in first  # not a talk line first
    assert w.means in text_of(engine, result)  # the place is a means: step back
    assert cases(result) == [("emergency", "risk_imminent")]
    result = chat.say(w.dont_know)  # "are you safe?" answered unclearly
    said = text_of(engine, result)
    assert "110" in said
    assert "120" in said  # treated as not safe; numbers repeated
    assert w.listening not in said
    assert [r for r in rendered(engine, result) if "?" in r or "？" in r] == [
        rendered(engine, result)[-1]
    ]  # one question, the last message


@LANGUAGES
def test_i_dont_know_to_every_question_ends_in_not_safe(engine: FlowEngine, lang: str) -> None:
    w = WORDS[lang]
    chat = teen(engine, lang)
    chat.say(
        "我想自杀" if lang == "zh" else "I want to kill myself", signal("high", "active_ideation")
    )
    chat.say(w.dont_know)
    result = chat.say(w.dont_know)
    assert ids(result) == ["crisis.safe.q"]
    result = chat.say(w.dont_know)
    assert ids(result) == ["crisis.safe.unclear", "crisis.not_safe", "crisis.stay.q"]
    assert "110" in text_of(engine, result)


@LANGUAGES
def test_named_means_gets_a_means_safety_line(engine: FlowEngine, lang: str) -> None:
    w = WORDS[lang]
    chat = teen(engine, lang)
    result = chat.say(w.pills_ready, signal("high", "plan"))
    assert w.means in text_of(engine, result)
    assert cases(result) == [("urgent", "risk_high")]
    chat.press("no")  # not thinking of it right now
    result = chat.say(w.pills_ready, signal("high", "plan"))  # named again, mid-crisis
    assert "crisis.means" in ids(result)


@LANGUAGES
def test_a_ten_year_olds_abuse_disclosure_and_secrecy_plea(engine: FlowEngine, lang: str) -> None:
    w = WORDS[lang]
    chat = teen(engine, lang, grade=5, age=10)
    result = chat.say(w.abuse, signal("moderate", "abuse", "bullying"))
    said = text_of(engine, result)
    assert ids(result) == ["simple.care.safeguarding", "simple.home.listen.q"]
    for must in (w.believe, w.no_secret, w.police_may, "110", "<ALERTED>"):
        assert must in said, must
    assert w.old_fallback not in said
    assert "checkin" not in buttons(result)  # no survey after a disclosure
    assert cases(result) == [("urgent", "safeguarding")]
    result = chat.say(w.plea)
    said = text_of(engine, result)
    assert ids(result)[0] == "simple.home.secret"
    assert w.no_promise in said
    assert "<ALERTED>" in said
    assert "110" in said
    assert w.old_fallback not in said
    assert "checkin" not in buttons(result)


@LANGUAGES
def test_a_friend_tonight(engine: FlowEngine, lang: str) -> None:
    w = WORDS[lang]
    chat = teen(engine, lang)
    result = chat.say(w.friend, signal("moderate", "peer_concern"))
    said = text_of(engine, result)
    assert w.telling_helps in said
    assert "110" in said
    assert "120" in said
    assert cases(result) == [("urgent", "peer_concern")]
    result = chat.say(w.friend_secret)
    assert ids(result)[0] == "home.secret_peer"
    assert w.telling_helps in text_of(engine, result)
    result = chat.say(w.tonight, signal("low", "means_method"))
    said = text_of(engine, result)
    assert ids(result)[0] == "home.peer_more"
    assert "110" in said
    assert "120" in said
    assert w.normalising not in said
    assert w.survey not in said
    assert "checkin" not in buttons(result)


def check_in(
    chat: Chat, phq: list[int | None], gad: list[int | None], mood: str = "2"
) -> StepResult:
    chat.command("checkin")
    chat.say(mood)
    chat.press("skip")
    result = chat.last
    for score in phq[:2] + gad[:2] + phq[2:] + gad[2:]:
        result = chat.press("skip" if score is None else FREQ[score])
    assert result is not None
    return result


@LANGUAGES
def test_item9_positive_with_a_negative_asq(engine: FlowEngine, lang: str) -> None:
    chat = teen(engine, lang, grade=10, age=16)
    check_in(chat, [3, 2, 2, 2, 2, 2, 2, 1, 1], [0, 0])
    assert chat.where == ("checkin", "asq_1")
    for _ in range(4):
        result = chat.press("no")
    assert events(result, "screen_completed")[0]["band"] == "negative"
    assert [
        e["score"] for e in events(result, "checkin_completed") if e["instrument"] == "phq9"
    ] == [17]
    assert cases(result) == [("urgent", "phq_item9"), ("routine", "checkin_score")]
    assert ids(result)[0] == "checkin.close.item9"  # the student is told, with who was reached
    assert "<ALERTED>" in rendered(engine, result)[0]


@LANGUAGES
def test_an_abandoned_asq_is_a_refusal(engine: FlowEngine, lang: str) -> None:
    chat = teen(engine, lang)
    chat.say(
        "活着没意思" if lang == "zh" else "what's the point", signal("moderate", "hopelessness")
    )
    chat.press("no")
    chat.press("no")
    result = chat.command("cancel")
    assert cases(result) == [("urgent", "asq_incomplete_positive")]
    assert events(result, "screen_completed")[0]["band"] == "incomplete_positive"
    assert "<ALERTED>" in rendered(engine, result)[0]  # told who was reached


@LANGUAGES
def test_skipped_screen_items(engine: FlowEngine, lang: str) -> None:
    w = WORDS[lang]
    chat = teen(engine, lang)
    chat.command("checkin")
    chat.say("4")
    chat.press("skip")
    chat.press("several_days")
    result = chat.press("skip")  # PHQ-2: "several days" + a skip is no negative screen
    chat.press("not_at_all")
    chat.press("not_at_all")
    assert chat.where == ("checkin", "phq_3")
    chat = teen(engine, lang)
    result = check_in(chat, [*[None] * 8, 0], [None] * 7, mood="4")  # item 9 answered: 0
    for _ in range(4):
        result = chat.press("no")
    assert w.doing_ok not in text_of(engine, result)
    assert ids(result)[0] == "checkin.close.unclear"


@LANGUAGES
def test_a_grade_3_check_in(engine: FlowEngine, lang: str) -> None:
    chat = teen(engine, lang, grade=3, age=8, guardian_consent=True)
    result = chat.command("checkin")
    assert ids(result)[0] == "simple.checkin.intro"
    chat.say("3")
    result = chat.press("skip")
    assert ids(result)[-1] == "moodcheck.q1"  # the mood check, not the PHQ
    for answer in ("often", "sometimes", "never"):
        result = chat.press(answer)
    seen = "".join(text_of(engine, step) for step in chat.history)
    seen += "".join(engine.catalog.render(label, lang) for _, label in result.replies[-1].buttons)
    rare = {ch for ch in seen if "\u4e00" <= ch <= "\u9fff" and ch not in LEVEL_1}
    assert not rare, "".join(sorted(rare))  # everything an 8-year-old read: common characters
    assert ids(result)[0].startswith("simple.checkin.close.")
    assert buttons(result) == ["talk", "done"]  # no suicide safety plan for an 8-year-old
    assert not events(result, "screen_completed")  # no ASQ below its validated ages


@LANGUAGES
def test_an_unknown_grade_student_gets_the_adolescent_check(engine: FlowEngine, lang: str) -> None:
    chat = Chat(engine, StudentProfile(language=lang, onboarded=True, guardian_consent=True))
    chat.command("checkin")
    chat.say("3")
    result = chat.press("skip")
    assert ids(result)[-1] == "phqa.q1"
    for _ in range(4):
        result = chat.press("not_at_all")
    assert chat.where == ("checkin", "asq_1")  # the ASQ: an unknown grade may be 12 or older
    result = chat.say(
        "我现在站在楼顶" if lang == "zh" else "I am on the roof", signal("imminent", "location")
    )
    assert ids(result)[0] == "crisis.imminent.danger"  # teen register for an unknown grade
