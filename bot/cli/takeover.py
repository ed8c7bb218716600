"""``heartguard cases take|reply|handback``: the takeover from the command line.

The same takeover service as Telegram's /take, /reply and /handback: scope-checked as the
counselor named by ``--as-counselor`` and recorded on the case. The counselor's words reach the
student through their own channel when this process can send on it (the Telegram token in the
environment); otherwise the command says they were not delivered.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.bootstrap import open_runtime
from bot.cli.main import run_async
from bot.config.settings import Settings
from bot.errors import HeartGuardError
from bot.services.takeover import TakeoverResult
from bot.translation import _
from core.clock import local_text
from escalation.actions import CaseActionError
from escalation.takeover import TakeoverRefused


def register(cases: Any) -> None:
    """Add take, reply and handback under ``heartguard cases``."""
    take = cases.add_parser("take", help=_("take over the student's chat as a counselor"))
    take.add_argument("case", type=int)
    take.add_argument("--as-counselor", type=int, metavar="ID", required=True)
    take.set_defaults(handler=run_async(_take))
    reply = cases.add_parser("reply", help=_("write to the student of a chat you took over"))
    reply.add_argument("case", type=int)
    reply.add_argument("text")
    reply.add_argument("--as-counselor", type=int, metavar="ID", required=True)
    reply.set_defaults(handler=run_async(_reply))
    back = cases.add_parser("handback", help=_("give a taken chat back to the bot"))
    back.add_argument("case", type=int)
    back.add_argument("--note", default="", help=_("a note for the timeline (stored encrypted)"))
    back.add_argument(
        "--as-counselor", type=int, metavar="ID", help=_("the holder (default: administrator)")
    )
    back.set_defaults(handler=run_async(_handback))


def _report(result: TakeoverResult, done: str) -> int:
    print(f"ok: case {result.case_number} (#{result.case_id}): {done}; chat: {result.state}")
    if not result.delivered:
        print(f"not delivered to the student: {result.delivery.status.value}")
        return 3
    return 0


async def _take(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(settings) as runtime:
        try:
            result = await runtime.takeover.take(args.case, args.as_counselor)
        except (CaseActionError, TakeoverRefused) as exc:
            raise HeartGuardError(str(exc)) from None
    for line in result.recent:
        who = "student" if line.from_student else "counselor"
        print(f"{local_text(line.at, settings.schools.default_timezone)} {who}: {line.text}")
    return _report(result, "taken")


async def _reply(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(settings) as runtime:
        try:
            result = await runtime.takeover.reply(args.case, args.as_counselor, args.text)
        except (CaseActionError, TakeoverRefused) as exc:
            raise HeartGuardError(str(exc)) from None
    return _report(result, "sent")


async def _handback(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(settings) as runtime:
        try:
            result = await runtime.takeover.hand_back(args.case, args.as_counselor, args.note)
        except (CaseActionError, TakeoverRefused) as exc:
            raise HeartGuardError(str(exc)) from None
    return _report(result, "handed back to the bot")
