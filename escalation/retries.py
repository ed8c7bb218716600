"""How long a case or a case request that failed waits before it is tried again, and when
failing becomes an alarm. Pure: no database, no clock.

A step or an intake that fails for one case alone (bad data: an invalid school time zone, a
snapshot this code cannot read, a request that breaks a constraint) must not be retried in a
tight loop, nor left alone for long: a child may be waiting behind it. So it waits a short,
growing pause, and after ``ALARM_AFTER`` failures in a row the auditor raises the case to the
district team and stops pinging the heartbeat.
"""

from __future__ import annotations

from datetime import timedelta

ALARM_AFTER = 3
RETRY_BASE = timedelta(seconds=15)
RETRY_CAP = timedelta(minutes=5)


def retry_after(failures: int) -> timedelta:
    """The pause after the ``failures``-th failure in a row: 15 s, 30 s, 1 min … up to 5 min."""
    doublings: int = max(0, min(failures, 16) - 1)
    wait: timedelta = RETRY_BASE * (2**doublings)
    return min(RETRY_CAP, wait)
