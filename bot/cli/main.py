"""The ``heartguard`` command line: one parser tree, thin handlers, one error funnel."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.cli.options import arrange
from bot.cli.whereabouts import check_whereabouts
from bot.config.settings import (
    Settings,
    database_password,
    load_settings,
    resolve_config_path,
)
from bot.errors import ConfigError, HeartGuardError
from bot.logs import configure_logging
from bot.translation import _, language_of, use
from storage.faults import describe

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]
AsyncHandler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


class _Parser(argparse.ArgumentParser):
    """argparse that says which command a usage error belongs to, in one line."""

    def error(self, message: str) -> Any:
        self.exit(2, _("{prog}: error: {message}").format(prog=self.prog, message=message) + "\n")


def utcnow() -> datetime:
    """The one clock read of the CLI; everything below takes ``now``."""
    return datetime.now(UTC)


def run_async(handler: AsyncHandler) -> Handler:
    """Adapt an async command handler to the synchronous dispatcher."""

    def wrapped(args: argparse.Namespace, settings: Settings) -> int:
        return asyncio.run(handler(args, settings))

    return wrapped


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    # Imported here: each module imports this one for run_async and utcnow.
    from bot.cli import access, admin, cases, chat, config, flows, reports, retention, risk, run

    parser = _Parser(
        prog="heartguard",
        description=_("HeartGuard (心卫): support and crisis triage for school students."),
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=_("config file (default: $HEARTGUARD_CONFIG, else ./config.toml, else built-ins)"),
    )
    parser.add_argument(
        "--debug", action="store_true", help=_("show tracebacks of internal errors")
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help=_("also show the libraries' routine lines (alembic, APScheduler)"),
    )
    parser.add_argument(
        "--lang",
        dest="ui_lang",
        choices=("zh", "en"),
        help=_("language of messages (default: from LANG); reports follow it"),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    config.register(commands)
    admin.register(commands)
    for module in (risk, flows, chat, cases, retention, reports, run, access):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else argv
    use(language_of(argv, os.environ))
    parser = build_parser()
    for arg in argv:
        # Bytes that are not UTF-8 reach Python as lone surrogates, which no database or
        # file takes: name the argument here rather than fail deep inside a command.
        if any("\ud800" <= char <= "\udfff" for char in arg):
            shown = arg.encode("utf-8", "backslashreplace").decode("utf-8")
            parser.error(_("argument '{shown}' is not valid UTF-8 text").format(shown=shown))
    arranged = arrange(parser, argv)
    if arranged.json_refused:
        parser.error(_("--json: this command has no JSON output"))
    args = parser.parse_args(arranged.argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.error(_("choose a command"))
    try:
        settings = _settings_for(args)
        secrets = [
            s.get_secret_value()
            for s in (
                *settings.data_keys,
                settings.telegram.token,
                settings.telegram.webhook_secret,
                settings.escalation.email.password,
                settings.escalation.webhook_secret,
                settings.escalation.dingtalk_secret,
                settings.web.secret,
                settings.wechat.token,
                settings.wechat.aes_key,
                settings.wechat.app_secret,
            )
            if s is not None
        ]
        password = database_password(settings.database.url)
        configure_logging(
            "DEBUG" if args.debug else settings.logging.level,
            [*secrets, *([password] if password else [])],
            verbose=args.verbose,
        )
        if not getattr(args, "skip_settings", False) and not getattr(args, "no_database", False):
            check_whereabouts(settings, os.environ)
        return handler(args, settings)
    except ConfigError as exc:
        for line in exc.problems:
            print(_("heartguard: config: {problem}").format(problem=line), file=sys.stderr)
        return 1
    except HeartGuardError as exc:
        print(_("heartguard: error: {message}").format(message=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("heartguard: interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`heartguard risk eval … | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        cause = describe(exc)
        if cause is not None:
            # A read-only database or a full disk is the administrator's to fix: say which.
            message = f"{cause} ({type(exc).__name__})"
            print(_("heartguard: error: {message}").format(message=message), file=sys.stderr)
            return 1
        log.debug("internal error", exc_info=True)
        print(
            _("heartguard: internal error ({kind}); run with --debug for details").format(
                kind=type(exc).__name__
            ),
            file=sys.stderr,
        )
        return 70


def _settings_for(args: argparse.Namespace) -> Settings:
    if getattr(args, "skip_settings", False):
        return load_settings(None, os.environ)
    return load_settings(resolve_config_path(args.config, os.environ), os.environ)


if __name__ == "__main__":
    sys.exit(main())
