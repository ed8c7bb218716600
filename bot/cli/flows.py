"""``heartguard flows check|graph``: validate flows and draw them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.config.settings import Settings
from bot.errors import HeartGuardError
from bot.translation import _


def register(commands: Any) -> None:
    """Add the flows command group."""
    flows = commands.add_parser("flows", help=_("validate and draw the conversation flows"))
    sub = flows.add_subparsers(dest="flows_command", metavar="ACTION")
    sub.required = True
    sub.add_parser(
        "check",
        help=_("unreachable states, dead ends, unknown conditions/actions, missing texts"),
    ).set_defaults(handler=_check, skip_settings=True)
    graph = sub.add_parser("graph", help=_("print a flow as a Mermaid state diagram"))
    graph.add_argument("name", help=_("flow name, e.g. checkin"))
    graph.set_defaults(handler=_graph, skip_settings=True)


def _check(_args: argparse.Namespace, _settings: Settings) -> int:
    from flows import check_flows

    problems = check_flows()
    for problem in problems:
        print(f"heartguard: flows: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("ok: every flow and catalog is consistent")
    return 0


def _graph(args: argparse.Namespace, _settings: Settings) -> int:
    from flows import FlowEngine, mermaid

    try:
        print(mermaid(args.name), end="")
    except KeyError:
        names = ", ".join(sorted(FlowEngine().flows))
        raise HeartGuardError(f"unknown flow {args.name!r}; known flows: {names}") from None
    return 0
