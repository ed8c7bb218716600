"""The chat page's own UI strings, in Chinese and English (the bot's words come from flows).

Every key exists in both languages; a test holds the template and script to that.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

_ZH = {
    "title": "心卫 · 聊一聊",
    "brand": "心卫",
    "help_link": "求助电话",
    "help_title": "需要马上帮助？这些电话随时可以打：",
    "banner_label": "提醒",
    "empty": "你好，我是心卫。想说什么都可以，直接在下面打字就好。",
    "sender_student": "我",
    "sender_bot": "心卫",
    "sender_counselor": "心理老师",
    "answers_label": "选一个回答",
    "input_label": "写下你想说的话",
    "placeholder": "在这里输入……（回车发送，Shift+回车换行）",
    "send": "发送",
    "sending": "正在发送……",
    "send_failed": "消息没有发出去，请再试一次。",
    "offline": "网络好像断了，正在重新连接……",
    "commands_label": "常用",
    "command_talk": "找心理老师聊聊",
    "command_checkin": "心情小调查",
    "command_plan": "我的安全计划",
    "command_help": "求助方式",
    "shared_on": "我在用公用电脑",
    "shared_hint": "开启后，关掉浏览器就会退出，下一个人看不到你的聊天。",
    "shared_active": "公用电脑模式已开启：离开前请关掉浏览器。",
    "shared_off": "这是我自己的手机或电脑",
}

_EN = {
    "title": "HeartGuard · Chat",
    "brand": "HeartGuard",
    "help_link": "Help lines",
    "help_title": "Need help right now? You can call these any time:",
    "banner_label": "Reminder",
    "empty": "Hi, I'm HeartGuard. You can talk about anything: just type below.",
    "sender_student": "Me",
    "sender_bot": "HeartGuard",
    "sender_counselor": "Counselor",
    "answers_label": "Choose an answer",
    "input_label": "Write what you want to say",
    "placeholder": "Type here… (Enter sends, Shift+Enter for a new line)",
    "send": "Send",
    "sending": "Sending…",
    "send_failed": "Your message didn't go through. Please try again.",
    "offline": "The connection dropped. Reconnecting…",
    "commands_label": "Shortcuts",
    "command_talk": "Talk to a counselor",
    "command_checkin": "Mood check-in",
    "command_plan": "My safety plan",
    "command_help": "Ways to get help",
    "shared_on": "I'm on a shared computer",
    "shared_hint": "Closing the browser then signs you out; the next person can't see your chat.",
    "shared_active": "Shared-computer mode is on: close the browser before you leave.",
    "shared_off": "This is my own phone or computer",
}

UI_TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"zh": MappingProxyType(_ZH), "en": MappingProxyType(_EN)}
)

# The command buttons under the text box, in order; each sends ``command=<name>``.
COMMANDS = ("talk", "checkin", "plan", "help")


def ui_texts(lang: str | None) -> Mapping[str, str]:
    """The UI strings for ``lang`` (Chinese for anything else)."""
    return UI_TEXTS[lang if lang in LANGUAGES else DEFAULT_LANGUAGE]
