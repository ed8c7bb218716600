"""Two reading levels: grades 3–6 read short sentences in common characters, without clinical
words; crisis and disclosure replies exist in both registers; the register follows the grade.

The character list is level 1 of 《通用规范汉字表》 (2013), the 3,500 common characters
(tests/flows/data/tgh_level1.txt, which says where it comes from). A grade-3 pupil is expected
to recognise about 2,500 characters by the end of grade 4, so this list is an upper bound; the
short-sentence and no-clinical-words rules carry the rest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flowchat import Chat, ids, signal

from flows import FlowEngine, StudentProfile, load_catalog
from flows.register import SIMPLE, base_key

CATALOG = load_catalog()
LEVEL_1 = frozenset(
    "".join(
        line
        for line in (Path(__file__).parent / "data" / "tgh_level1.txt")
        .read_text("utf-8")
        .splitlines()
        if not line.startswith("#")
    )
)
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# Words a 9-year-old does not know, or that label them (issue 18's examples and their kin).
CLINICAL_ZH = (
    "预警信号",
    "专业人员",
    "机构",
    "加密",
    "危机干预",
    "诊断",
    "抑郁",
    "焦虑",
    "症状",
    "量表",
    "筛查",
    "心理援助",
)
CLINICAL_EN = (
    "depress",
    "anxiety",
    "symptom",
    "diagnos",
    "professional",
    "encrypt",
    "crisis",
    "screening",
    "suicidal",
)
MAX_SENTENCE_ZH = 26  # characters between stops
MAX_SENTENCE_EN = 16  # words between stops
# Crisis-flow texts that read the same in both registers, and why.
SHARED = {
    "crisis.counselor_contacted": "only {alerted}",
    "crisis.counselor_urgent": "only {alerted}",
    "crisis.acuity.q": "ASQ question 5, verbatim",
    "crisis.safe.q": "four characters",
}


def simple_texts(language: str) -> dict[str, str]:
    return {
        key: PLACEHOLDER.sub("", text)
        for key, text in CATALOG.texts[language].items()
        if key.startswith(SIMPLE)
    }


def test_the_character_list_is_the_3500_of_level_1() -> None:
    assert len(LEVEL_1) == 3500
    assert {"我", "你", "的", "安", "全"} <= LEVEL_1
    assert "龘" not in LEVEL_1


@pytest.mark.parametrize(("key", "text"), sorted(simple_texts("zh").items()))
def test_simple_chinese_uses_common_characters_short_sentences_no_clinical_words(
    key: str, text: str
) -> None:
    rare = sorted({ch for ch in text if "\u4e00" <= ch <= "\u9fff" and ch not in LEVEL_1})
    assert not rare, f"{key}: not in level 1: {''.join(rare)}"
    assert not [w for w in CLINICAL_ZH if w in text], key
    for sentence in re.split(r"[。！？；\n]", text):
        assert len(sentence.strip()) <= MAX_SENTENCE_ZH, f"{key}: {sentence}"


@pytest.mark.parametrize(("key", "text"), sorted(simple_texts("en").items()))
def test_simple_english_uses_short_sentences_no_clinical_words(key: str, text: str) -> None:
    lowered = text.lower()
    assert not [w for w in CLINICAL_EN if w in lowered], key
    for sentence in re.split(r"[.!?\n:]", text):
        assert len(sentence.split()) <= MAX_SENTENCE_EN, f"{key}: {sentence}"


def test_every_simple_text_words_an_existing_text_with_the_same_placeholders() -> None:
    for language, texts in CATALOG.texts.items():
        for key, text in texts.items():
            if key.startswith(SIMPLE):
                assert base_key(key) in texts, key
                assert set(PLACEHOLDER.findall(text)) == set(
                    PLACEHOLDER.findall(texts[base_key(key)])
                ), f"{language}: {key}"


def test_crisis_and_disclosure_replies_exist_in_both_registers(engine: FlowEngine) -> None:
    said = {
        text_id
        for flow in ("crisis", "home")
        for state in engine.flows[flow].states.values()
        for text_id in (*state.say, *([state.ask] if state.ask else []))
        if text_id.startswith(("crisis.", "home.secret", "home.peer", "home.listen"))
    }
    said |= {"care.safeguarding", "care.peer", "care.others", "help.text"}
    missing = sorted(k for k in said if k not in SHARED and not CATALOG.has(SIMPLE + k, "zh"))
    assert missing == []


@pytest.mark.parametrize(
    ("grade", "age", "simple"),
    [(3, 9, True), (6, 12, True), (7, 13, False), (12, 17, False), (None, None, False)],
)
def test_the_register_follows_the_grade(
    engine: FlowEngine, grade: int | None, age: int | None, simple: bool
) -> None:
    chat = Chat(engine, StudentProfile(grade=grade, age=age, onboarded=True))
    result = chat.say("我现在站在楼顶", signal("imminent", "location", "plan"))
    first = ids(result)[0]
    assert first == ("simple.crisis.imminent.danger" if simple else "crisis.imminent.danger")
