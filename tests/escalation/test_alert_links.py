"""Alerts carry a link to the case's console page when the installation has a public URL."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

from escalation.dispatch import Dispatcher
from escalation.notifiers.base import Alert
from escalation.notifiers.console import ConsoleNotifier
from escalation.notifiers.render import render, render_markdown
from escalation.notifiers.webhook import payload

LINK = "https://xinwei.example.cn/console/cases/12"


def test_the_link_is_in_every_rendering(make_alert: Callable[..., Alert]) -> None:
    alert = make_alert(link=LINK)
    assert LINK in render(alert)[1]
    assert LINK in render_markdown(alert)
    assert payload(alert)["data"]["link"] == LINK
    update = make_alert(kind="update", link=LINK)
    assert LINK in render(update)[1]


def test_no_link_without_a_public_url(make_alert: Callable[..., Alert]) -> None:
    alert = make_alert()
    assert "/console/" not in render(alert)[1]
    assert "link" not in payload(alert)["data"]


def test_the_dispatcher_links_counselors_only() -> None:
    linked = Dispatcher(None, {}, cipher=None, quote_chars=0, console_url="https://x.cn/")  # type: ignore[arg-type]
    assert linked._link(12, "counselor") == "https://x.cn/console/cases/12"
    assert linked._link(12, "hospital") is None  # a hospital cannot sign in
    plain = Dispatcher(None, {}, cipher=None, quote_chars=0)  # type: ignore[arg-type]
    assert plain._link(12, "counselor") is None


def test_the_terminal_shows_the_link(make_alert: Callable[..., Alert]) -> None:
    sink = io.StringIO()
    asyncio.run(ConsoleNotifier(sink).send(make_alert(link=LINK)))
    assert LINK in sink.getvalue()
