"""Turning flow replies (text ids) into words, with crisis lines filled in from config."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.config.settings import Settings
from flows import Catalog, Reply


@dataclass(frozen=True)
class Outbound:
    """One reply for the channel to send: text and (key, label) buttons."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()


class Renderer:
    """Renders replies in the student's language; the caller's parameters come from settings."""

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self._resources = {
            "zh": "\n".join(
                f"• {line.name_zh}：{line.number}（{line.hours}）"
                for line in settings.crisis_resources.lines
            ),
            "en": "\n".join(
                f"• {line.name_en}: {line.number} ({line.hours})"
                for line in settings.crisis_resources.lines
            ),
        }
        days = settings.privacy.safety_record_retention_days
        self._retention = {"zh": f"{days} 天", "en": f"{days} days"}

    def params(self, language: str) -> dict[str, str]:
        """The caller-supplied placeholders for one language."""
        lang = language if language in self._resources else "zh"
        return {"resources": self._resources[lang], "retention": self._retention[lang]}

    def text(self, text_id: str, language: str, extra: dict[str, str] | None = None) -> str:
        """One catalog text, rendered."""
        return self.catalog.render(text_id, language, {**self.params(language), **(extra or {})})

    def replies(self, replies: Iterable[Reply], language: str) -> list[Outbound]:
        """Render every reply and its buttons."""
        base = self.params(language)
        out = []
        for reply in replies:
            params = {**base, **{k: str(v) for k, v in reply.params.items()}}
            text = self.catalog.render(reply.text_id, language, params)
            buttons = tuple(
                (key, self.catalog.render(label, language, base)) for key, label in reply.buttons
            )
            out.append(Outbound(text, buttons))
        return out
