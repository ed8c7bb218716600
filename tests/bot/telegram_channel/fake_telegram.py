"""An offline Bot API for driving a real python-telegram-bot Application in tests.

``RecordingRequest`` answers the Bot API methods HeartGuard uses the way Telegram does and
records every call; any other method fails the test, and nothing ever touches the network.
Factories build realistic ``Update`` payloads (private chats, groups, edits, captions,
stickers, button presses).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.request import BaseRequest, RequestData

BOT_ID = 999_000
BOT_USERNAME = "heartguard_test_bot"
DATE = 1_793_000_000  # seconds, as Telegram sends them


@dataclass
class Call:
    """One Bot API call: its method and decoded parameters."""

    method: str
    params: dict[str, Any]
    message_id: int | None = None  # of the message a send created
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # upload: (name, bytes)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def callback_data(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class RecordingRequest(BaseRequest):
    """Answers like the Bot API, records calls, refuses anything unexpected."""

    calls: list[Call] = field(default_factory=list)
    # method → error payloads to answer with, in order (then success again)
    failures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5000))

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        call = Call(api, params)
        if request_data is not None and request_data.contains_files:
            for part, upload in request_data.multipart_data.items():
                if isinstance(upload, tuple):
                    call.files[part] = (str(upload[0]), bytes(upload[1]))
        if api != "getUpdates":
            self.calls.append(call)
        queued = self.failures.get(api)
        if queued:
            error = queued.pop(0)
            return int(error["error_code"]), json.dumps({"ok": False, **error}).encode()
        result = await self._answer(api, params)
        if isinstance(result, dict) and "message_id" in result:
            call.message_id = result["message_id"]
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def _answer(self, api: str, params: dict[str, Any]) -> Any:
        if api == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "心卫",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if api in ("sendMessage", "sendDocument"):
            chat_id = int(params["chat_id"])
            message: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": DATE,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "心卫"},
            }
            if api == "sendMessage":
                message["text"] = params["text"]
            else:
                message["document"] = {"file_id": "f1", "file_unique_id": "u1"}
            return message
        if api in (
            "answerCallbackQuery",
            "editMessageText",
            "editMessageReplyMarkup",
            "setMyCommands",
            "deleteWebhook",
            "setWebhook",
        ):
            return True
        if api == "getUpdates":
            await asyncio.sleep(0.05)  # Telegram would hold a long poll open
            return []
        pytest.fail(f"unexpected Bot API call {api}: the offline bot refuses it")

    def of(self, method: str) -> list[Call]:
        """Every call of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Messages and documents sent to one chat."""
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendDocument") and int(c.params["chat_id"]) == chat_id
        ]

    def clear(self) -> None:
        """Forget the calls so far."""
        self.calls.clear()


FORBIDDEN = {"error_code": 403, "description": "Forbidden: bot was blocked by the user"}
BAD_REQUEST = {"error_code": 400, "description": "Bad Request: chat not found"}
FLOOD = {
    "error_code": 429,
    "description": "Too Many Requests: retry after 7",
    "parameters": {"retry_after": 7},
}


class Updates:
    """Builds updates for one bot; every update gets a fresh id."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._ids = itertools.count(1)
        self._messages = itertools.count(100)

    def _user(self, user_id: int, language: str = "zh-hans") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "同学", "language_code": language}

    def _message(
        self, user_id: int, chat: dict[str, Any] | None = None, **content: Any
    ) -> dict[str, Any]:
        return {
            "message_id": next(self._messages),
            "date": DATE,
            "chat": chat or {"id": user_id, "type": "private", "first_name": "同学"},
            "from": self._user(user_id),
            **content,
        }

    def build(self, data: dict[str, Any]) -> Update:
        update = Update.de_json({"update_id": next(self._ids), **data}, self.bot)
        assert update is not None
        return update

    def text(self, user_id: int, text: str) -> Update:
        return self.build({"message": self._message(user_id, text=text)})

    def command(self, user_id: int, text: str, chat: dict[str, Any] | None = None) -> Update:
        name = text.split()[0]
        entity = {"type": "bot_command", "offset": 0, "length": len(name)}
        return self.build({"message": self._message(user_id, chat, text=text, entities=[entity])})

    def edited(self, user_id: int, text: str) -> Update:
        message = self._message(user_id, text=text, edit_date=DATE + 60)
        return self.build({"edited_message": message})

    def photo(self, user_id: int, caption: str | None = None) -> Update:
        photo = [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}]
        extra = {"caption": caption} if caption else {}
        return self.build({"message": self._message(user_id, photo=photo, **extra)})

    def sticker(self, user_id: int) -> Update:
        sticker = {
            "file_id": "s1",
            "file_unique_id": "su1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        return self.build({"message": self._message(user_id, sticker=sticker)})

    def group_text(self, user_id: int, text: str, chat_id: int = -100_200) -> Update:
        chat = {"id": chat_id, "type": "supergroup", "title": "初二(3)班"}
        return (
            self.command(user_id, text, chat)
            if text.startswith("/")
            else self.build({"message": self._message(user_id, chat, text=text)})
        )

    def press(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int = 1,
        chat_id: int | None = None,
        text: str = "…",
    ) -> Update:
        chat = chat_id if chat_id is not None else user_id
        message = {
            "message_id": message_id,
            "date": DATE,
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "心卫"},
            "text": text,
        }
        query = {
            "id": str(next(self._ids)),
            "from": self._user(user_id),
            "chat_instance": f"ci{chat}",
            "message": message,
            "data": data,
        }
        return self.build({"callback_query": query})
