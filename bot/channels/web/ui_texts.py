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
    "sign_out": "结束聊天并退出",
    "file_download": "下载",
    "refused_session": (
        "页面已经过期了，请刷新页面后再发一次。如果你现在有危险，请马上拨打上面的电话。"
    ),
    "refused_too_long": "这条消息太长了（最多 2000 字），请分成几条发。",
    "refused_empty": "请先写点什么再发送。",
    "refused_stale": "这个问题已经过去了，请回答最新的问题，或者直接打字告诉我。",
    "refused_fault": (
        "出了点问题，消息没有发出去，请再试一次。如果你现在有危险，请马上拨打上面的电话。"
    ),
    "session_new": "之前的聊天已经结束了，这里是新的开始。",
    "session_ended": "这次聊天已经结束。刷新页面可以重新开始。",
    "erased": "你的数据已经删除了。",
    "link_expired": "这个链接已经过期了。你可以直接在这里聊，或者回到微信再点一次菜单。",
    "enter_note": "这个链接会打开你在微信里和心卫的聊天。只有你自己点开的链接才继续哦。",
    "enter_continue": "继续我的聊天",
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
    "sign_out": "End the chat and sign out",
    "file_download": "Download",
    "refused_session": (
        "This page has expired. Please reload it and send again. "
        "If you are in danger now, call one of the numbers above."
    ),
    "refused_too_long": (
        "That message is too long (2,000 characters at most). Please send it in parts."
    ),
    "refused_empty": "Please write something first.",
    "refused_stale": "That question has passed. Please answer the newest one, or just type.",
    "refused_fault": (
        "Something went wrong and your message was not sent. Please try again. "
        "If you are in danger now, call one of the numbers above."
    ),
    "session_new": "Your earlier chat has ended; this is a fresh start.",
    "session_ended": "This chat has ended. Reload the page to start again.",
    "erased": "Your data has been deleted.",
    "link_expired": "That link has expired. You can chat right here, or open it again from WeChat.",
    "enter_note": (
        "This link opens your HeartGuard chat from WeChat. "
        "Continue only if you opened the link yourself."
    ),
    "enter_continue": "Continue my chat",
}

UI_TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"zh": MappingProxyType(_ZH), "en": MappingProxyType(_EN)}
)

# The command buttons under the text box, in order; each sends ``command=<name>``.
COMMANDS = ("talk", "checkin", "plan", "help")
# The longest message the page lets a student type (the text box's maxlength).
MAX_TEXT = 2000


def ui_texts(lang: str | None) -> Mapping[str, str]:
    """The UI strings for ``lang`` (Chinese for anything else)."""
    return UI_TEXTS[lang if lang in LANGUAGES else DEFAULT_LANGUAGE]
