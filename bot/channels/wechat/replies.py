"""Replies as WeChat text: answer options as numbers, one message's size, a link to the page.

WeChat text has no buttons; the flows accept an option's number or its label, so a question's
options become a numbered list. A passive reply (and a customer-service message) holds about
2,048 bytes; what does not fit is cut at a line break and the rest is on the chat page, which
the reply links to. The beginning always stays: a crisis reply puts the crisis lines first.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.render import Outbound

# WeChat cuts text at 2,048 bytes; leave room for the link and the cut mark.
MAX_BYTES = 2000
_HINT = {"zh": "（回复数字即可）", "en": "(reply with the number)"}
_MORE = {"zh": "……后面还有，请在聊天页看：", "en": "… there is more on the chat page:"}
_OPEN = {"zh": "在聊天页继续：", "en": "Continue on the chat page:"}


def as_text(replies: Sequence[Outbound], language: str) -> str:
    """The replies as one text, each question's options numbered."""
    lang = language if language in _HINT else "zh"
    parts = []
    for reply in replies:
        part = reply.text
        if reply.buttons:
            options = "\n".join(
                f"{number}. {label}" for number, (_, label) in enumerate(reply.buttons, start=1)
            )
            part = f"{part}\n{options}\n{_HINT[lang]}"
        parts.append(part)
    return "\n\n".join(part for part in parts if part)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def fit(text: str, language: str, link: str | None, *, force_link: bool = False) -> str:
    """``text`` within one message; when cut (or ``force_link``), ended with the page's link."""
    lang = language if language in _MORE else "zh"
    if _size(text) <= MAX_BYTES and not (force_link and link):
        return text
    if _size(text) <= MAX_BYTES and link:
        tail = f"\n\n{_OPEN[lang]}{link}"
        if _size(text + tail) <= MAX_BYTES:
            return text + tail
    tail = f"\n{_MORE[lang]}{link}" if link else "\n……"
    room = MAX_BYTES - _size(tail)
    kept = text
    while _size(kept) > room:
        cut = kept.rfind("\n", 0, len(kept) - 1)
        kept = kept[:cut] if cut > 0 else kept[: max(0, len(kept) - 64)]
    return kept.rstrip() + tail


def needs_link(text: str, *, attachments: bool = False) -> bool:
    """Whether a reply must point to the chat page: too long for one message, or a file."""
    return attachments or _size(text) > MAX_BYTES


def fault_text(numbers: Sequence[str]) -> str:
    """Said when a message could not be handled at all: never silence, and the crisis lines."""
    zh, en = "、".join(numbers), ", ".join(numbers)
    return (
        f"出了点问题，你的消息没有处理好，请过一会儿再发一次。如果你现在有危险，请马上拨打 {zh}。\n"
        f"Something went wrong; please send it again in a moment. "
        f"If you are in danger now, call {en}."
    )
