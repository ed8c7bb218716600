"""``heartguard run``: Telegram and/or the web server with the green channel, until SIGTERM."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.main import run_async
from bot.config.settings import Settings
from bot.translation import _


def register(commands: Any) -> None:
    """Add the run command."""
    run = commands.add_parser(
        "run",
        help=_("run the Telegram bot and/or the web chat (and WeChat), with the green channel"),
    )
    run.set_defaults(handler=run_async(_run))


async def _run(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.process import serve

    await serve(settings)
    return 0
