"""Turning flow replies (text ids) into words, with crisis lines filled in from config.

Every phone number a text names comes from ``crisis_resources`` in the config: ``{resources}``
is the whole list (danger-now lines first, each with its purpose and hours), ``{police}`` and
``{ambulance}`` the first line of each, ``{talk_lines}`` the lines to talk to with their hours.
So a district that changes a line changes every text, and no text claims hours the config
does not give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.config.settings import CrisisLine, Settings
from escalation.coverage import Reach
from flows import Catalog, Reply
from flows.catalog import placeholders

# What an outbound message is: an answer, a short note (flood control's "slow down"), a
# reminder nobody asked for (the chat page shows reminders as a banner on the next visit), or
# a counselor's own words (the chat page shows them as the counselor's).
Purpose = Literal["reply", "note", "reminder", "counselor"]


@dataclass(frozen=True)
class Outbound:
    """One reply for the channel to send: text, (key, label) buttons and what it is."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()
    purpose: Purpose = "reply"


class Renderer:
    """Renders replies in the student's language; the caller's parameters come from settings."""

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self._uses: dict[str, tuple[bool, bool]] = {}
        lines = settings.crisis_resources
        ordered = (*lines.of("police"), *lines.of("ambulance"), *lines.of("talk"))
        self._lines = {
            "zh": {
                "resources": "\n".join(_line_zh(line) for line in ordered),
                "police": lines.of("police")[0].number,
                "ambulance": lines.of("ambulance")[0].number,
                "talk_lines": "或".join(
                    f"{line.number}（{line.name_zh}，{line.hours_zh}）" for line in lines.of("talk")
                ),
            },
            "en": {
                "resources": "\n".join(_line_en(line) for line in ordered),
                "police": lines.of("police")[0].number,
                "ambulance": lines.of("ambulance")[0].number,
                "talk_lines": " or ".join(
                    f"{line.number} ({line.name_en}, {line.hours_en})" for line in lines.of("talk")
                ),
            },
        }
        days = settings.privacy.safety_record_retention_days
        self._retention = {"zh": f"{days} 天", "en": f"{days} days"}

    def params(self, language: str) -> dict[str, str]:
        """The caller-supplied placeholders for one language."""
        lang = language if language in self._lines else "zh"
        return {**self._lines[lang], "retention": self._retention[lang]}

    def text(self, text_id: str, language: str, extra: dict[str, str] | None = None) -> str:
        """One catalog text, rendered."""
        return self.catalog.render(text_id, language, {**self.params(language), **(extra or {})})

    def uses_reach(self, replies: Iterable[Reply]) -> tuple[bool, bool]:
        """Whether these replies say who was alerted, and who will follow up."""
        alerted = followup = False
        for reply in replies:
            found = self._uses.get(reply.text_id)
            if found is None:
                used: frozenset[str] = frozenset().union(
                    *(
                        placeholders(self.catalog.text(reply.text_id, language))
                        for language in self.catalog.languages
                        if self.catalog.has(reply.text_id, language)
                    )
                )
                found = self._uses[reply.text_id] = ("alerted" in used, "followup" in used)
            alerted, followup = alerted or found[0], followup or found[1]
        return alerted, followup

    def reach_params(self, reach: Reach, language: str) -> dict[str, str]:
        """The ``alerted`` and ``followup`` sentences for what the roster can do now."""
        alerted = reach.value if reach in (Reach.SCHOOL, Reach.DISTRICT) else "nobody"
        followup = {Reach.SCHOOL: "now", Reach.DISTRICT: "now", Reach.LATER: "later"}.get(
            reach, "nobody"
        )
        return {
            "alerted": self.text(f"reach.alerted.{alerted}", language),
            "followup": self.text(f"reach.followup.{followup}", language),
        }

    def replies(
        self, replies: Iterable[Reply], language: str, extra: dict[str, str] | None = None
    ) -> list[Outbound]:
        """Render every reply and its buttons."""
        base = {**self.params(language), **(extra or {})}
        out = []
        for reply in replies:
            params = {**base, **{k: str(v) for k, v in reply.params.items()}}
            text = self.catalog.render(reply.text_id, language, params)
            buttons = tuple(
                (key, self.catalog.render(label, language, base)) for key, label in reply.buttons
            )
            out.append(Outbound(text, buttons))
        return out


def _line_zh(line: CrisisLine) -> str:
    purpose = f"：{line.purpose_zh}" if line.purpose_zh else ""
    return f"• {line.number} {line.name_zh}{purpose}（{line.hours_zh}）"


def _line_en(line: CrisisLine) -> str:
    purpose = f": {line.purpose_en}" if line.purpose_en else ""
    return f"• {line.number} {line.name_en}{purpose} ({line.hours_en})"
