"""Per-chat flood control: a small token bucket for each student chat, on any channel.

The bucket never decides whether a message is read: every message goes through the pipeline
(stored, scanned, escalated). It only decides whether the replies go out now or are held and
merged with the next ones (``bot.services.student_service``), so a student pasting fifty lines
gets a handful of answers instead of fifty, and a channel's per-chat limit (Telegram's one
message a second) is not hammered. Each channel sets its own burst and interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

Monotonic = Callable[[], float]
# Buckets that have refilled are forgotten once this many chats are tracked.
PRUNE_AT = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class FloodGate:
    """Up to ``burst`` messages at once per chat, then one more every ``interval`` seconds."""

    def __init__(self, burst: int, interval: float, clock: Monotonic = time.monotonic) -> None:
        if burst < 1 or interval <= 0:
            raise ValueError("burst must be at least 1 and interval positive")
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}

    def _refill(self, key: Hashable) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            return bucket
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) / self.interval)
        bucket.at = now
        return bucket

    def admit(self, key: Hashable) -> bool:
        """Take a token for one reply; False means the chat is flooding."""
        if len(self._buckets) >= PRUNE_AT:
            self._prune()
        bucket = self._refill(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        return False

    def wait(self, key: Hashable) -> float:
        """Seconds until this chat has a token again (0 when it has one now)."""
        bucket = self._refill(key)
        return max(0.0, (1 - bucket.tokens) * self.interval)

    def _prune(self) -> None:
        now = self.clock()
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) / self.interval >= self.burst
        ]
        for key in full:
            del self._buckets[key]
