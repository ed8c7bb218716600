"""A green-channel worker for the chaos tests: the real engine with the real webhook and e-mail
notifiers, forked from a parent that has imported everything already.

Importing the stack takes a second or two on a busy machine; forking takes milliseconds, so
fifty kill -9 cycles fit in a test run. The parent reads commands on stdin: ``fork`` starts
a worker and prints its pid; ``quit`` (or end of input) kills the workers left and exits.
The test kills the workers itself, with SIGKILL, at moments it chooses.

Configuration comes from the environment: CHAOS_DATABASE_URL, CHAOS_WEBHOOK_SECRET,
CHAOS_SMTP_PORT, CHAOS_LEASE and CHAOS_SEND_TIMEOUT (seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import UTC, datetime, timedelta

from escalation.engine import EscalationEngine
from escalation.notifiers.email import EmailNotifier
from escalation.notifiers.webhook import WebhookNotifier
from escalation.policy import Chain, Step
from storage.db import create_engine, session_factory

TICK = 0.2


def chains() -> dict[str, Chain]:
    """Every priority alerts the school tier first and waits ten minutes: one alert per case
    and recipient within a test run."""
    wait = timedelta(minutes=10)
    return {
        priority: Chain(priority, (Step(("school",), wait), Step(("district",), wait)), 0)  # type: ignore[arg-type]
        for priority in ("routine", "urgent", "emergency")
    }


def build() -> EscalationEngine:
    """The worker's engine, built before forking (no connection is opened until a tick)."""
    env = os.environ
    send_timeout = float(env.get("CHAOS_SEND_TIMEOUT", "2"))
    return EscalationEngine(
        session_factory(create_engine(env["CHAOS_DATABASE_URL"])),
        chains(),
        {
            "webhook": WebhookNotifier(env["CHAOS_WEBHOOK_SECRET"], timeout=send_timeout),
            "email": EmailNotifier(
                "127.0.0.1",
                int(env["CHAOS_SMTP_PORT"]),
                security="none",
                sender="heartguard@chaos.invalid",
                timeout=send_timeout,
            ),
        },
        lease=timedelta(seconds=float(env.get("CHAOS_LEASE", "8"))),
        send_timeout=timedelta(seconds=send_timeout),
    )


async def work(green: EscalationEngine) -> None:
    while True:
        await green.tick(datetime.now(UTC))
        await asyncio.sleep(TICK)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    children: set[int] = set()
    for line in sys.stdin:
        while children:  # reap the workers the test killed
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
        command = line.strip()
        if command == "quit":
            break
        if command == "fork":
            green = build()
            pid = os.fork()
            if pid == 0:
                try:
                    asyncio.run(work(green))
                finally:
                    os._exit(1)
            children.add(pid)
            print(pid, flush=True)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
