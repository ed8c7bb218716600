"""A worker's claim on a notification, and the shortest claim that is safe.

A claim (a lease) keeps other workers off a row while it is being sent. If the lease runs
out before the send and its recording are done, another worker claims the row and sends it
again: the counselor gets the alert twice. So the lease must outlast the longest send. The
dispatcher sends everything it claims at once (the claim batch is its concurrency), and the
dispatcher stops waiting for any one send at the longest notifier timeout; a few seconds
more cover building the batch and recording the result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta

LEASE = timedelta(seconds=60)
# Sends at once in one process; the dispatcher claims exactly this many rows at a time.
CONCURRENCY = 16
CLAIM_BATCH = CONCURRENCY
# The dispatcher waits this much past the notifiers' own timeouts before it gives a send up.
SEND_GRACE = timedelta(seconds=1)
# Building the batch before the sends, that grace, and recording a result after one.
RECORD_MARGIN = timedelta(seconds=5)


def longest_send(
    timeouts: Iterable[timedelta], *, batch: int = CLAIM_BATCH, concurrency: int = CONCURRENCY
) -> timedelta:
    """How long the last send of a claimed batch may take: the notifier timeout times the
    number of rounds the batch needs at this concurrency."""
    longest = max(timeouts, default=timedelta(0))
    rounds: int = math.ceil(batch / max(1, concurrency))
    return longest * rounds


def shortest_lease(
    timeouts: Iterable[timedelta], *, batch: int = CLAIM_BATCH, concurrency: int = CONCURRENCY
) -> timedelta:
    """The shortest lease that outlasts every send of a batch and its recording."""
    return longest_send(timeouts, batch=batch, concurrency=concurrency) + RECORD_MARGIN
