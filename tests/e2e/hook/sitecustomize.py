"""TEST ONLY: adapts python-telegram-bot to the telegram-test-api emulator's quirks.

Loaded only by the e2e tests' ``heartguard run`` subprocess (through PYTHONPATH); product
code never sees it. It wraps ``HTTPXRequest.do_request`` so that:

- getMe gains ``is_bot`` (the emulator leaves it out);
- message dates in milliseconds become seconds;
- callback queries gain the ``chat_instance`` PTB requires;
- ``editMessage*``'s ``null`` result reads as ``true``;
- methods the emulator lacks (setMyCommands, sendDocument) are answered here;
- an empty getUpdates waits a little, as a real long poll would, instead of spinning.

Every call (method and parameters) is appended as JSON to ``$HG_E2E_CALLS`` when set.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from emulator_shapes import telegram_shaped
from telegram.request import HTTPXRequest, RequestData

_original = HTTPXRequest.do_request
_ANSWERED_HERE: dict[str, Any] = {"setMyCommands": True, "deleteMyCommands": True}


def _record(api: str, request_data: RequestData | None) -> None:
    path = os.environ.get("HG_E2E_CALLS")
    if not path:
        return
    params = dict(request_data.parameters) if request_data is not None else {}
    with open(path, "a", encoding="utf-8") as sink:
        sink.write(json.dumps({"method": api, "params": params}, ensure_ascii=False) + "\n")


async def _adapted(
    self: HTTPXRequest,
    url: str,
    method: str,
    request_data: RequestData | None = None,
    *args: Any,
    **kwargs: Any,
) -> tuple[int, bytes]:
    api = url.rsplit("/", 1)[-1]
    if api != "getUpdates":
        _record(api, request_data)
    if api in _ANSWERED_HERE:
        return 200, json.dumps({"ok": True, "result": _ANSWERED_HERE[api]}).encode()
    if api == "sendDocument" and request_data is not None:
        chat_id = int(request_data.parameters["chat_id"])
        message = {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private"}}
        return 200, json.dumps({"ok": True, "result": message}).encode()
    status, payload = await _original(self, url, method, request_data, *args, **kwargs)
    try:
        body = json.loads(payload)
    except ValueError:
        return status, payload
    result = body.get("result")
    if api == "getMe" and isinstance(result, dict):
        result.setdefault("is_bot", True)
    if api.startswith("editMessage") and result is None and body.get("ok"):
        body["result"] = True
    if api == "getUpdates" and result == []:
        await asyncio.sleep(0.1)
    return status, json.dumps(telegram_shaped(body)).encode()


HTTPXRequest.do_request = _adapted  # type: ignore[method-assign]
