"""Reading a small urlencoded form under a byte limit, without trusting its size or encoding."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from bot.web.guard import BodyTooLarge

# More fields than any of our forms has means the body is not one of our forms.
MAX_FIELDS = 20


class BadForm(Exception):
    """The body is not a urlencoded form we can read."""


async def read_form(request: Request, limit: int) -> dict[str, str]:
    """The form's fields (the first value of each); raises BodyTooLarge or BadForm."""
    body = await read_body(request, limit)
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if body and kind not in ("application/x-www-form-urlencoded", ""):
        raise BadForm("not a urlencoded form")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadForm("not a urlencoded UTF-8 form") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (BodyTooLarge) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)
