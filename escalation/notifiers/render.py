"""Alert text for humans: Chinese first, English after, and nothing about the student beyond it.

Every notifier that shows text to a person renders it here, so the rule "priority, case, school,
class, display name, reason, explanation, the quote only if the engine set one" lives in one
place. Values are flattened to one line so that nothing a student typed (a display name, a
quote) can forge extra lines such as a fake "already handled" notice.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import replace

from escalation.notifiers.base import Alert

PRIORITY: dict[str, tuple[str, str]] = {
    "emergency": ("紧急", "EMERGENCY"),
    "urgent": ("急迫", "URGENT"),
    "routine": ("常规", "ROUTINE"),
}
STATUS: dict[str, tuple[str, str]] = {
    "open": ("待确认", "open"),
    "acknowledged": ("已确认", "acknowledged"),
    "in_progress": ("跟进中（已联系学生）", "in progress (student contacted)"),
    "referred": ("已转介医院", "referred to hospital"),
    "resolved": ("已解决", "resolved"),
    "closed": ("已关闭", "closed"),
}
_CALL: dict[str, tuple[str, str]] = {
    "emergency": ("学生可能处于危险中，请立即处理", "a student may be in danger, act now"),
    "urgent": ("请尽快处理", "please respond soon"),
    "routine": ("请在工作时间内跟进", "please follow up during school hours"),
}
# The student's /talk wishes, by code (the flows' options), in both languages.
WISHES: dict[str, tuple[str, str]] = {
    "asap": ("越快越好", "as soon as possible"),
    "break_time": ("课间", "during a break"),
    "after_school": ("放学后", "after school"),
    "anytime": ("什么时候都行", "any time"),
    "in_person": ("当面聊", "in person"),
    "chat": ("在这里发消息", "by message in the chat"),
    "phone": ("打电话", "by phone"),
}
# Why an alert about a taken-over chat was sent again.
_TAKEOVER: dict[str, tuple[str, str]] = {
    "quiet": (
        "接手对话的老师没有及时回复学生，学生在等待",
        "the counselor who took the chat has not answered; the student is waiting",
    ),
    "released": (
        "接手的老师请区危机干预团队接着和学生对话",
        "the counselor who took the chat asks the district team to carry it on",
    ),
}
# Characters that carry meaning in the robots' markdown (links, HTML, emphasis, headings, code).
# Swapped for their full-width twins, which read the same to a Chinese reader but render inert.
_MARKDOWN_INERT = str.maketrans({
    "*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "<": "＜", ">": "＞",
    "#": "＃", "~": "～", "|": "｜", "\\": "＼",
})  # fmt: skip
_ELLIPSIS = "…"

Clean = Callable[[str], str]


def one_line(value: str) -> str:
    """Collapse newlines and control characters; drop invisible format characters (bidi)."""
    kept = (" " if unicodedata.category(ch) == "Cc" else ch for ch in value)
    return " ".join("".join(ch for ch in kept if unicodedata.category(ch) != "Cf").split())


def inert_markdown(value: str) -> str:
    """One line, with markdown and HTML metacharacters made harmless."""
    return one_line(value).translate(_MARKDOWN_INERT)


def priority_words(priority: str) -> tuple[str, str]:
    """("紧急", "EMERGENCY") and so on; an unknown value is shown as it is."""
    return PRIORITY.get(priority, (priority, priority.upper()))


def subject(alert: Alert) -> str:
    """A one-line subject: priority, case number and school, never the student's name."""
    zh, en = priority_words(alert.priority)
    number, school = one_line(alert.case_number), one_line(alert.school)
    if alert.kind == "referral":
        return f"【{zh}】心卫转介 · 案例 {number} · {school} / [{en}] HeartGuard referral {number}"
    if alert.kind == "update":
        st_zh, st_en = _status(alert.status)
        return f"【{zh}】心卫案例 {number} 更新：{st_zh} / HeartGuard case {number}: {st_en}"
    if alert.kind == "test":
        return "心卫测试消息 / HeartGuard test message"
    return f"【{zh}】心卫绿色通道 · 案例 {number} · {school} / [{en}] HeartGuard case {number}"


def render(alert: Alert) -> tuple[str, str]:
    """(subject, plain text) for email, text robots and anything else that shows plain text."""
    return subject(alert), "\n".join(_lines(alert, one_line))


def render_markdown(alert: Alert, *, line_break: str = "\n") -> str:
    """The same text as robot markdown: a bold first line, student-supplied values made inert."""
    first, *rest = _lines(alert, inert_markdown)
    return line_break.join([f"**{first}**", *rest])


def fit(text_of: Callable[[Alert], str], alert: Alert, max_bytes: int) -> str:
    """Render within a channel's size limit (UTF-8 bytes), shortening the quote first.

    Clipping the quote keeps the case number and the instructions whole; only if the text is
    still too long is its end cut.
    """
    text = text_of(alert)
    for _ in range(4):
        over = len(text.encode()) - max_bytes
        if over <= 0 or not alert.evidence_quote:
            break
        quote = alert.evidence_quote.encode()
        kept = quote[: max(0, len(quote) - over - len(_ELLIPSIS.encode()))]
        alert = replace(alert, evidence_quote=kept.decode(errors="ignore") + _ELLIPSIS)
        text = text_of(alert)
    if len(text.encode()) <= max_bytes:
        return text
    room = max(0, max_bytes - len(_ELLIPSIS.encode()))
    return text.encode()[:room].decode(errors="ignore") + _ELLIPSIS


def _status(status: str) -> tuple[str, str]:
    return STATUS.get(status, (status, status))


def wish_words(wishes: Mapping[str, str]) -> tuple[str, str] | None:
    """("越快越好 · 在这里发消息", "as soon as possible · by message in the chat"), or None."""
    codes = [wishes[k] for k in ("preferred_time", "preferred_channel") if wishes.get(k)]
    if not codes:
        return None
    words = [WISHES.get(code, (code, code)) for code in codes]
    return " · ".join(zh for zh, _ in words), " · ".join(en for _, en in words)


def _link(alert: Alert, clean: Clean) -> list[str]:
    """The console link line, when there is one (the URL is ours: only flattened)."""
    if not alert.link:
        return []
    return [f"在工作台打开 Open in the console: {one_line(alert.link)}"]


def _lines(alert: Alert, clean: Clean) -> list[str]:
    zh, en = priority_words(alert.priority)
    number = clean(alert.case_number)
    if alert.kind == "test":
        return [
            "心卫测试消息：此通知渠道工作正常，无需处理。",
            "HeartGuard test message: this channel works. No action is needed.",
        ]
    if alert.kind == "update":
        st_zh, st_en = _status(alert.status)
        return [
            f"【{zh}】心卫案例 {number} 状态更新：{st_zh}",
            f"[{en}] HeartGuard case {number} is now: {st_en}",
            f"学校 School: {clean(alert.school)}",
            f"学生 Student: {clean(alert.student_display)}",
            *_link(alert, clean),
        ]
    if alert.kind == "referral":
        head = [
            f"【{zh}】心卫绿色通道转介单 · 案例 {number}",
            f"[{en}] HeartGuard green-channel referral, case {number}",
        ]
        tail = [
            "请确认接收，并与区心理危机干预团队联系。",
            "Please confirm receipt and contact the district crisis team.",
        ]
    else:
        call_zh, call_en = _CALL.get(alert.priority, _CALL["urgent"])
        again = _TAKEOVER.get(alert.extra.get("takeover", ""))
        if again is not None:
            call_zh, call_en = again
        head = [f"【{zh}】心卫绿色通道：{call_zh}", f"[{en}] HeartGuard green channel: {call_en}"]
        tail = [
            *_link(alert, clean),
            f"请在 Telegram 中点击“确认”，或运行：heartguard cases ack {alert.case_id}",
            f"Acknowledge in Telegram, or run: heartguard cases ack {alert.case_id}",
        ]
    body = [
        f"案例编号 Case: {number}",
        f"优先级 Priority: {zh} {en.lower()}",
        f"学校 School: {clean(alert.school)}",
    ]
    if alert.class_name:
        body.append(f"班级 Class: {clean(alert.class_name)}")
    body += [
        f"学生 Student: {clean(alert.student_display)}",
        f"原因 Reason: {clean(alert.reason)}",
        f"检测说明 Why flagged: {clean(alert.explanation)}",
    ]
    wished = wish_words(alert.wishes)
    if wished is not None:
        body.append(f"学生的希望 Wishes: {wished[0]} / {wished[1]}")
    if alert.evidence_quote:  # set by the engine only as far as config allows quoting
        body.append(f"引用 Quote: “{clean(alert.evidence_quote)}”")
    notice = [
        "本消息含未成年人敏感信息，请勿转发。",
        "Sensitive information about a minor: do not forward.",
    ]
    return [*head, "", *body, "", *tail, *notice]
