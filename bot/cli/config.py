"""``heartguard config …``: validate and show configuration."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bot.bootstrap import coverage_warnings, open_app
from bot.config.durations import format_duration
from bot.config.masking import mask_value
from bot.config.settings import (
    ENV_DATA_KEY,
    ENV_DATABASE_URL,
    ENV_DINGTALK_SECRET,
    ENV_SMTP_PASSWORD,
    ENV_TOKEN,
    ENV_WEBHOOK_SECRET,
    ENV_WEBHOOK_SIGNING,
    Settings,
    load_settings,
    resolve_config_path,
)
from bot.errors import HeartGuardError
from bot.translation import _


def register(commands: Any) -> None:
    """Add the config command group."""
    config = commands.add_parser("config", help=_("validate or show configuration"))
    sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    sub.required = True
    check = sub.add_parser("check", help=_("validate a config file and report every problem"))
    check.add_argument("path", nargs="?", help=_("file to check (default: the active config)"))
    check.set_defaults(handler=_check, skip_settings=True)
    show = sub.add_parser("show", help=_("print the effective settings as JSON (secrets masked)"))
    show.set_defaults(handler=_show, no_database=True)


def _check(args: argparse.Namespace, _settings: Settings) -> int:
    explicit = args.path or args.config
    path = resolve_config_path(explicit, os.environ)
    if path is None:
        print("ok: no config file found; the built-in defaults are valid")
        return 0
    settings = load_settings(Path(path), os.environ)
    print(f"ok: {path}")
    _warn_coverage(settings)
    return 0


def _warn_coverage(settings: Settings) -> None:
    """Coverage problems in the configured database, if it is reachable (warnings only)."""

    async def warnings() -> list[str]:
        async with open_app(settings) as app:
            return await coverage_warnings(app, datetime.now(UTC))

    try:
        lines = asyncio.run(warnings())
    except HeartGuardError as exc:
        print(f"note: coverage not checked: {exc}")
        return
    for line in lines:
        print(f"warning: {line}")


def _readable(value: Any) -> Any:
    """Durations as the config file writes them ("30m", not "PT30M"); times and dates as text."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _readable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_readable(item) for item in value]
    return value


def _show(_args: argparse.Namespace, settings: Settings) -> int:
    # Every printed value goes through the masker: passwords in URLs (the database URL from
    # $HEARTGUARD_DATABASE_URL included), token-like URL parts and secret-named keys.
    data = mask_value("", _readable(settings.model_dump()))

    def given(value: object) -> str:
        return "set" if value is not None else "not set"

    data["secrets"] = {
        ENV_TOKEN: given(settings.telegram.token),
        ENV_WEBHOOK_SECRET: given(settings.telegram.webhook_secret),
        ENV_DATA_KEY: f"{len(settings.data_keys)} key(s)",
        ENV_SMTP_PASSWORD: given(settings.escalation.email.password),
        ENV_WEBHOOK_SIGNING: given(settings.escalation.webhook_secret),
        ENV_DINGTALK_SECRET: given(settings.escalation.dingtalk_secret),
        ENV_DATABASE_URL: "set (overrides database.url)"
        if os.environ.get(ENV_DATABASE_URL, "").strip()
        else "not set",
        "HEARTGUARD_WEB_SECRET": given(settings.web.secret),
        "HEARTGUARD_WECHAT_TOKEN": given(settings.wechat.token),
        "HEARTGUARD_WECHAT_AES_KEY": given(settings.wechat.aes_key),
        "HEARTGUARD_WECHAT_APP_SECRET": given(settings.wechat.app_secret),
    }
    data["source"] = settings.source
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    return 0
