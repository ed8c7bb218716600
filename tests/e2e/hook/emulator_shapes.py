"""TEST ONLY: what the telegram-test-api emulator sends, reshaped the way Telegram sends it.

Used by the polling hook (sitecustomize) and by the e2e webhook relay.
"""

from __future__ import annotations

from typing import Any

_MILLISECONDS = 10**11  # no date in seconds is this large before the year 5138


def telegram_shaped(node: Any) -> Any:
    """Dates in milliseconds become seconds; callback queries gain their ``chat_instance``."""
    if isinstance(node, dict):
        out = {key: telegram_shaped(value) for key, value in node.items()}
        for key in ("date", "edit_date"):
            if isinstance(out.get(key), int) and out[key] > _MILLISECONDS:
                out[key] //= 1000
        query = out.get("callback_query")
        if isinstance(query, dict):
            query.setdefault("chat_instance", "e2e")
        return out
    if isinstance(node, list):
        return [telegram_shaped(item) for item in node]
    return node
