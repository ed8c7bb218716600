"""Where the chat page's templates and static files live inside the installed package."""

from __future__ import annotations

from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
# The page links its assets under this prefix; the server mounts STATIC_DIR there.
STATIC_PREFIX = "/static"
CHAT_TEMPLATE = "chat.html"
# The step between a WeChat link and the chat it opens (a click, so no other site can bind
# a browser to a conversation that is not its own).
ENTER_TEMPLATE = "enter.html"
