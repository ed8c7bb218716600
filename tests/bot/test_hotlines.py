"""Crisis lines are configured facts: number, purpose and hours come from the config, every
text renders them, and a line without hours is refused rather than shown as round the clock."""

from __future__ import annotations

import pytest

from bot.config.settings import load_settings, settings_from_mapping
from bot.errors import ConfigError
from bot.services.render import Renderer
from flows import Reply, load_catalog

CATALOG = load_catalog()


def line(number: str, use: str, hours: str = "8:00–22:00") -> dict[str, str]:
    return {"number": number, "name_zh": "线", "name_en": "Line", "use": use, "hours": hours}


def test_the_defaults_name_110_120_12356_and_12355_with_honest_hours() -> None:
    params = Renderer(CATALOG, load_settings(None, {})).params("zh")
    assert (params["police"], params["ambulance"]) == ("110", "120")
    assert "12356（全国心理援助热线，每天至少 18 小时）" in params["talk_lines"]
    assert "12355" in params["talk_lines"]
    assert params["resources"].index("110") < params["resources"].index("12356")
    assert "24 小时" not in params["talk_lines"]  # 12356 must answer 18 h a day, not 24


def test_a_district_line_changes_every_text_that_names_it() -> None:
    settings = settings_from_mapping(
        {
            "crisis_resources": {
                "lines": [
                    line("110", "police", "24 小时"),
                    line("120", "ambulance", "24 小时"),
                    line("023-1234", "talk", "每天 8:00–22:00"),
                ]
            }
        },
        source="t",
        environ={},
    )
    renderer = Renderer(CATALOG, settings)
    [text] = renderer.replies([Reply("crisis.imminent.danger")], "zh")
    assert text.text.startswith("请你现在就打 110")
    [nobody] = [renderer.text("reach.alerted.nobody", "zh")]
    assert "023-1234（线，每天 8:00–22:00）" in nobody
    assert "12356" not in nobody


def test_a_line_without_hours_is_refused() -> None:
    with pytest.raises(ConfigError, match="say when it answers"):
        settings_from_mapping(
            {"crisis_resources": {"lines": [{"number": "12356", "name_zh": "a", "name_en": "b"}]}},
            source="t",
            environ={},
        )


def test_every_use_needs_a_line() -> None:
    with pytest.raises(ConfigError, match="use = ambulance"):
        settings_from_mapping(
            {"crisis_resources": {"lines": [line("110", "police"), line("12356", "talk")]}},
            source="t",
            environ={},
        )


def test_110_and_120_are_known_without_a_use() -> None:
    settings = settings_from_mapping(
        {
            "crisis_resources": {
                "lines": [
                    {"number": "110", "name_zh": "a", "name_en": "b", "hours": "24h"},
                    {"number": "120", "name_zh": "a", "name_en": "b", "hours": "24h"},
                    {"number": "12356", "name_zh": "a", "name_en": "b", "hours": "18h"},
                ]
            }
        },
        source="t",
        environ={},
    )
    assert [x.role for x in settings.crisis_resources.lines] == ["police", "ambulance", "talk"]
