"""Counselor and hospital contacts: each address checked against its channel's format."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.errors import UsageError
from bot.translation import N_, _

CONTACT_CHANNELS = ("telegram", "email", "wecom", "dingtalk", "webhook", "phone", "console")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
# A person's chat id is positive; a group's is negative (-100… for supergroups).
_TELEGRAM = re.compile(r"^-?[1-9][0-9]{0,15}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,22}[0-9]$")
_ROBOT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_CONSOLE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_EXAMPLES = {
    "telegram": N_("a numeric chat id such as 123456789 (a group: -1001234567)"),
    "email": N_("an e-mail address such as chen@school.cn"),
    "wecom": N_("a WeCom robot key or its webhook URL (https://…?key=…)"),
    "dingtalk": N_("a DingTalk robot access token or its webhook URL (https://…?access_token=…)"),
    "webhook": N_("an http:// or https:// URL"),
    "phone": N_("a phone number such as 13800138000 or +86 23 6825 1234"),
    "console": N_("a name of letters, digits, '.', '_' or '-'"),
}


def _is_url(address: str, query_key: str | None = None) -> bool:
    try:
        parts = urlsplit(address)
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    return query_key is None or f"{query_key}=" in parts.query


def _valid(channel: str, address: str) -> bool:
    if channel == "email":
        return bool(_EMAIL.match(address))
    if channel == "telegram":
        return bool(_TELEGRAM.match(address))
    if channel == "phone":
        return bool(_PHONE.match(address))
    if channel == "webhook":
        return _is_url(address)
    if channel == "wecom":
        return _is_url(address, "key") or bool(_ROBOT_TOKEN.match(address))
    if channel == "dingtalk":
        return _is_url(address, "access_token") or bool(_ROBOT_TOKEN.match(address))
    return bool(_CONSOLE.match(address))


def check_contact(channel: str, address: str, option: str = "") -> str:
    """The address, stripped, when it fits its channel (``option`` names it in errors).

    Raises:
        UsageError: one line naming the option and what it expects.
    """
    if channel not in CONTACT_CHANNELS:
        known = ", ".join(CONTACT_CHANNELS)
        raise UsageError(
            _("contact channel {channel!r}: expected one of {known}").format(
                channel=channel, known=known
            )
        )
    name = option or f"--{channel}"
    address = address.strip()
    if not address:
        raise UsageError(
            _("{name}: must not be empty; expected {example}").format(
                name=name, example=_(_EXAMPLES[channel])
            )
        )
    if not _valid(channel, address):
        raise UsageError(
            _("{name} {address!r}: expected {example}").format(
                name=name, address=address, example=_(_EXAMPLES[channel])
            )
        )
    return address
