"""Rules every student-facing text keeps, in both languages and both registers.

- A counselor is promised only through ``{alerted}`` / ``{followup}``, never in plain text.
- A text that tells a student to call names the number (a placeholder from the config).
- No text claims a line answers around the clock; only the config's hours are shown.
- Crisis and disclosure replies ask one question per message.
"""

from __future__ import annotations

import re

import pytest

from flows import FlowEngine, load_catalog
from flows.register import base_key

CATALOG = load_catalog()
EVERY_TEXT = sorted(
    (lang, key, text) for lang, texts in CATALOG.texts.items() for key, text in texts.items()
)
NUMBERS = ("{police}", "{ambulance}", "{talk_lines}", "{resources}")
# "a counselor was told / will contact you", said as fact.
PLAIN_PROMISES = re.compile(
    r"已经通知|已经告诉了|会联系你|会来找你|会尽快联系|I've told|has been told|will contact you"
    r"|will come to find you|will get in touch",
    re.IGNORECASE,
)
CALLS = re.compile(r"打电话|拨打|热线|打 |求助电话|\bcall\b|helpline|phone number", re.IGNORECASE)
ROUND_THE_CLOCK = re.compile(
    r"24|全天|随时能打|随时都能打|around the clock|any time you can call"
    r"|lines you can call any time",
    re.IGNORECASE,
)


def ids(*texts: tuple[str, str, str]) -> list[str]:
    return [f"{lang}:{key}" for lang, key, _ in texts]


@pytest.mark.parametrize(("lang", "key", "text"), EVERY_TEXT, ids=ids(*EVERY_TEXT))
def test_no_plain_text_promises_a_counselor(lang: str, key: str, text: str) -> None:
    if base_key(key).startswith("reach."):
        return  # the only texts that say it, rendered from the real roster
    assert not PLAIN_PROMISES.search(text), f"{lang}: {key}: {text}"


@pytest.mark.parametrize(("lang", "key", "text"), EVERY_TEXT, ids=ids(*EVERY_TEXT))
def test_a_text_that_says_call_names_the_number(lang: str, key: str, text: str) -> None:
    if not base_key(key).startswith(("crisis.", "care.", "home.", "asq.", "reach.", "checkin.")):
        return
    if CALLS.search(text):
        assert any(p in text for p in (*NUMBERS, "{alerted}")), f"{lang}: {key}: {text}"


@pytest.mark.parametrize(("lang", "key", "text"), EVERY_TEXT, ids=ids(*EVERY_TEXT))
def test_no_text_claims_a_line_answers_around_the_clock(lang: str, key: str, text: str) -> None:
    assert not ROUND_THE_CLOCK.search(text), f"{lang}: {key}: {text}"


def test_no_line_is_said_to_have_trained_people_on_it() -> None:
    # 110 and 120 are emergency services, not counselling lines.
    for lang, key, text in EVERY_TEXT:
        assert "专业的人陪你" not in text, f"{lang}: {key}"
        assert "trained person" not in text, f"{lang}: {key}"


def test_crisis_messages_ask_one_question_at_most(engine: FlowEngine) -> None:
    crisis = engine.flows["crisis"]
    for state in crisis.states.values():
        for text_id in state.say:
            for lang in CATALOG.languages:
                for key in (text_id, "simple." + text_id):
                    if CATALOG.has(key, lang):
                        text = CATALOG.text(key, lang)
                        assert "？" not in text, f"{lang}: {key}"
                        assert "?" not in text, f"{lang}: {key}"
        for text_id in [state.ask] if state.ask else []:
            for lang in CATALOG.languages:
                text = CATALOG.text(text_id, lang)
                assert text.count("？") + text.count("?") <= 1, f"{lang}: {text_id}"


def test_disclosure_replies_ask_nothing() -> None:
    # A caring reply is followed by one question of its own (home.listen.q), never two.
    for lang, key, text in EVERY_TEXT:
        if base_key(key).startswith(("care.", "home.secret", "home.peer", "home.listen_heard")):
            assert "？" not in text, f"{lang}: {key}"
            assert "?" not in text, f"{lang}: {key}"


def test_phq_wording_uses_fidgety_and_irritable_apart() -> None:
    # 烦躁 means "fidgety" in the published Chinese PHQ-9 item 8; "irritable" is 易怒.
    zh = CATALOG.texts["zh"]
    assert "烦躁" in zh["phq9.q8"]
    assert "烦躁" in zh["phqa.q8"]
    assert "烦躁" not in zh["phqa.q1"]
    assert "易怒" in zh["phqa.q1"]
