"""``heartguard tokens`` and ``heartguard counselors password``: access for the console and API.

A token is printed once and only its hash is kept. A password is read from the terminal (or
one line of standard input), never from the command line, where it would sit in the shell's
history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta
from typing import Any

from bot.bootstrap import open_app
from bot.cli.main import run_async, utcnow
from bot.config.durations import parse_duration
from bot.config.settings import Settings
from bot.errors import HeartGuardError
from bot.services import api_tokens, console_login
from bot.translation import _
from core.clock import local_text

ACTOR = "cli:admin"


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(commands: Any) -> None:
    """``heartguard tokens issue|list|revoke``."""
    tokens = commands.add_parser("tokens", help=_("bearer tokens for the integration API"))
    ts = tokens.add_subparsers(dest="tokens_command", metavar="ACTION")
    ts.required = True
    issue = ts.add_parser("issue", help=_("a token that acts as a counselor (printed once)"))
    issue.add_argument("--counselor", type=int, required=True, metavar="ID")
    issue.add_argument("--ttl", type=_duration, help=_("validity (default: access.token_ttl)"))
    issue.add_argument("--label", default="", help=_("what the token is for"))
    issue.set_defaults(handler=run_async(_issue))
    ts.add_parser("list", help=_("every token: id, counselor, state")).set_defaults(
        handler=run_async(_list)
    )
    revoke = ts.add_parser("revoke", help=_("revoke a token at once"))
    revoke.add_argument("token", type=int, metavar="ID")
    revoke.set_defaults(handler=run_async(_revoke))


def register_password(counselors: Any) -> None:
    """``heartguard counselors password ID [--totp]``."""
    password = counselors.add_parser(
        "password", help=_("set a counselor's console password (read from the terminal)")
    )
    password.add_argument("counselor", type=int, metavar="ID")
    password.add_argument(
        "--totp", action="store_true", help=_("also require a TOTP code; prints the secret once")
    )
    password.set_defaults(handler=run_async(_password))


async def _issue(args: argparse.Namespace, settings: Settings) -> int:
    ttl = args.ttl or settings.access.token_ttl
    async with open_app(settings) as app, app.sessions.begin() as session:
        issued = await api_tokens.issue(
            session, args.counselor, ttl=ttl, now=utcnow(), actor=ACTOR, label=args.label
        )
    print(f"token #{issued.id} for counselor #{issued.counselor_id}:")
    print(issued.token)
    expires = local_text(issued.expires_at, settings.schools.default_timezone)
    print(f"expires {expires}. It is shown only now: store it safely.")
    return 0


async def _list(_args: argparse.Namespace, settings: Settings) -> int:
    now = utcnow()
    async with open_app(settings) as app, app.sessions() as session:
        for row in await api_tokens.listing(session):
            if row.revoked_at is not None:
                state = f"revoked {row.revoked_at:%Y-%m-%d}"
            elif row.expires_at <= now:
                state = f"expired {row.expires_at:%Y-%m-%d}"
            else:
                state = f"valid until {row.expires_at:%Y-%m-%d}"
            used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "unused"
            print(f"#{row.id}\tcounselor #{row.counselor_id}\t{state}\t{used}\t{row.label}")
    return 0


async def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        done = await api_tokens.revoke(session, args.token, now=utcnow(), actor=ACTOR)
    if not done:
        raise HeartGuardError(_("no live token #{token}").format(token=args.token))
    print(f"ok: token #{args.token} revoked")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("new console password: ")
        if getpass.getpass("again: ") != first:
            raise HeartGuardError(_("the two passwords differ"))
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _password(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password()
    async with open_app(settings) as app, app.sessions.begin() as session:
        secret = await console_login.set_password(
            session,
            app.cipher,
            args.counselor,
            password,
            totp=args.totp,
            now=utcnow(),
            actor=ACTOR,
        )
    print(f"ok: console password set for counselor #{args.counselor}")
    if secret is not None:
        print(f"TOTP secret (add it to the counselor's authenticator app now): {secret}")
    return 0
