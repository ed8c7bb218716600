"""Alerts printed to a terminal: the demo's counselor, and a fallback for local use."""

from __future__ import annotations

import sys
from typing import TextIO

from escalation.notifiers.base import Alert, SendResult


class ConsoleNotifier:
    """Writes one line per alert (ids and the explanation; never the student's words)."""

    channel = "console"

    def __init__(self, sink: TextIO | None = None) -> None:
        self.sink = sink

    async def send(self, alert: Alert) -> SendResult:
        """Print the alert; a terminal never refuses."""
        sink = self.sink or sys.stderr
        sink.write(
            f"\n[绿色通道 green channel] {alert.kind} → {alert.recipient_name}: "
            f"case {alert.case_number} ({alert.priority}, {alert.status}), "
            f"{alert.school} {alert.class_name or ''} {alert.student_display}: "
            f"{alert.explanation or alert.reason}"
            f"{f' {alert.link}' if alert.link else ''}\n"
        )
        sink.flush()
        return SendResult.delivered()
