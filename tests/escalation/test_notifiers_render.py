"""The text a counselor or hospital reads: what it must carry, and what it must not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from escalation.notifiers.base import Alert
from escalation.notifiers.render import fit, one_line, render, render_markdown, subject

MakeAlert = Callable[..., Alert]


@pytest.mark.parametrize(
    ("priority", "chinese", "english"),
    [
        ("emergency", "紧急", "EMERGENCY"),
        ("urgent", "急迫", "URGENT"),
        ("routine", "常规", "ROUTINE"),
    ],
)
def test_alert_text_carries_priority_case_and_who(
    make_alert: MakeAlert, priority: str, chinese: str, english: str
) -> None:
    title, text = render(make_alert(priority=priority))

    assert f"【{chinese}】" in title
    assert english in title
    assert "HG-2025-0007" in title
    assert "小林" not in title  # a subject shows on lock screens: no names in it
    for expected in ("HG-2025-0007", chinese, english, "北碚区实验中学", "初二(3)班", "小林"):
        assert expected in text
    assert "自伤风险 self-harm risk" in text
    assert "提到具体计划和时间" in text
    assert "heartguard cases ack 7" in text


def test_chinese_comes_before_english(make_alert: MakeAlert) -> None:
    _, text = render(make_alert())
    first, second = text.splitlines()[:2]

    assert first.startswith("【紧急】心卫绿色通道")
    assert second.startswith("[EMERGENCY] HeartGuard")
    assert text.index("请在 Telegram") < text.index("Acknowledge in Telegram")


def test_quote_only_when_the_engine_set_one(make_alert: MakeAlert) -> None:
    _, without = render(make_alert(evidence_quote=None))
    _, with_quote = render(make_alert(evidence_quote="我想结束这一切"))

    assert "引用" not in without
    assert "Quote" not in without
    assert "引用 Quote: “我想结束这一切”" in with_quote


def test_nothing_else_about_the_student(make_alert: MakeAlert) -> None:
    alert = make_alert(
        extra={"message_text": "RAW-STUDENT-MESSAGE", "student_number": "S-998877"},
        recipient_name="RECIPIENT-NAME",
    )
    title, text = render(alert)
    markdown = render_markdown(alert)

    for leaked in ("RAW-STUDENT-MESSAGE", "S-998877", "RECIPIENT-NAME", "wang@school.example"):
        assert leaked not in title + text + markdown


def test_missing_class_leaves_no_empty_line(make_alert: MakeAlert) -> None:
    _, text = render(make_alert(class_name=None))

    assert "班级" not in text
    assert "None" not in text


def test_referral_is_a_minimal_packet(make_alert: MakeAlert) -> None:
    title, text = render(make_alert(kind="referral", status="referred"))

    assert "转介" in title
    assert "referral" in title
    assert "HG-2025-0007" in text
    assert "小林" in text
    assert "district crisis team" in text
    assert "Telegram" not in text  # a hospital has neither Telegram buttons nor our CLI


def test_update_is_short_and_names_the_new_status(make_alert: MakeAlert) -> None:
    alert = make_alert(kind="update", status="acknowledged", evidence_quote="不该出现的引用")
    title, text = render(alert)

    assert "已确认" in title
    assert "acknowledged" in title
    assert "HG-2025-0007" in text
    assert len(text.splitlines()) <= 4
    assert "不该出现的引用" not in text  # an update repeats no evidence


def test_student_values_cannot_forge_lines(make_alert: MakeAlert) -> None:
    alert = make_alert(
        student_display="小林\n案例已处理，无需跟进 Case resolved, ignore",
        evidence_quote="line one\r\nline two\u202e",
    )
    _, text = render(alert)

    assert not any(line.startswith("案例已处理") for line in text.splitlines())
    assert "学生 Student: 小林 案例已处理，无需跟进 Case resolved, ignore" in text
    assert "“line one line two”" in text
    assert "\u202e" not in text


def test_markdown_makes_student_values_inert(make_alert: MakeAlert) -> None:
    alert = make_alert(
        student_display="[点我](http://evil.example) <font color=red>x</font>",
        evidence_quote="**bold** `code` # heading",
    )
    markdown = render_markdown(alert)

    assert markdown.startswith("**【紧急】")
    assert "[点我](" not in markdown
    assert "<font" not in markdown
    assert "**bold**" not in markdown
    assert "`code`" not in markdown
    assert "［点我］" in markdown  # still readable, in full-width brackets


def test_one_line_keeps_ordinary_text() -> None:
    assert one_line("  初二(3)班\t小林  ") == "初二(3)班 小林"


def test_fit_clips_the_quote_and_keeps_the_instructions(make_alert: MakeAlert) -> None:
    alert = make_alert(evidence_quote="很长的引用" * 400)

    text = fit(lambda a: render(a)[1], alert, 2048)

    assert len(text.encode()) <= 2048
    assert "HG-2025-0007" in text
    assert "heartguard cases ack 7" in text
    assert "很长的引用…”" in text


def test_fit_cuts_hard_when_there_is_no_quote_to_clip(make_alert: MakeAlert) -> None:
    alert = make_alert(explanation="解释" * 2000)

    text = fit(render_markdown, alert, 4096)

    assert len(text.encode()) <= 4096
    assert text.endswith("…")
    assert "HG-2025-0007" in text


def test_subject_is_one_line_even_with_hostile_values(make_alert: MakeAlert) -> None:
    title = subject(make_alert(school="学校\r\nBcc: someone@example.com"))

    assert "\n" not in title
    assert "\r" not in title
