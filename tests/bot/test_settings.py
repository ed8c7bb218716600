"""Configuration: defaults equal the example file, and every bad value gets one clear line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli.main import main
from bot.config.durations import format_duration, parse_duration
from bot.config.settings import (
    load_settings,
    read_toml,
    resolve_config_path,
    settings_from_mapping,
)
from bot.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(data, source="config.toml", environ={})
    return info.value.problems


def test_example_file_equals_built_in_defaults() -> None:
    from_file = settings_from_mapping(read_toml(EXAMPLE), source="x", environ={})
    built_in = load_settings(None, {})
    assert from_file.model_dump(exclude={"source"}) == built_in.model_dump(exclude={"source"})


def test_bad_duration_names_key_file_and_expectation() -> None:
    lines = problems(
        {
            "escalation": {
                "policies": {
                    "urgent": {
                        "steps": [
                            {"tiers": ["school"], "ack_timeout": "10m"},
                            {"tiers": ["district"], "ack_timeout": "soon"},
                        ]
                    }
                }
            }
        }
    )
    assert lines == [
        "config.toml: escalation.policies.urgent.steps[1].ack_timeout (how long to wait for "
        'someone to acknowledge): expected a positive duration like "10m"'
    ]


def test_every_problem_gets_its_own_line() -> None:
    lines = problems(
        {
            "bogus": 1,
            "telegram": {"mode": "carrier-pigeon"},
            "schools": {"default_timezone": "Mars"},
        }
    )
    assert "config.toml: bogus: unknown key" in lines
    assert any(line.startswith("config.toml: telegram.mode: expected") for line in lines)
    assert any("schools.default_timezone" in line and "IANA" in line for line in lines)
    assert len(lines) == 3


def test_partial_policy_keeps_other_defaults() -> None:
    settings = settings_from_mapping(
        {
            "escalation": {
                "policies": {"urgent": {"steps": [{"tiers": ["school"], "ack_timeout": "2m"}]}}
            }
        },
        source="x",
        environ={},
    )
    assert settings.escalation.policies["urgent"].steps[0].ack_timeout == timedelta(minutes=2)
    assert settings.escalation.policies["emergency"].repeat == 12


def test_secrets_come_from_environment_and_are_masked() -> None:
    env = {"HEARTGUARD_TELEGRAM_TOKEN": "123456:SECRET-TOKEN", "HEARTGUARD_DATA_KEY": "k1, k2"}
    settings = load_settings(None, env)
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123456:SECRET-TOKEN"
    assert [k.get_secret_value() for k in settings.data_keys] == ["k1", "k2"]
    assert "SECRET-TOKEN" not in repr(settings)
    assert "SECRET-TOKEN" not in str(settings.model_dump())


def test_token_in_file_is_refused() -> None:
    assert problems({"telegram": {"token": "abc"}}) == [
        "config.toml: telegram.token: secrets are read from $HEARTGUARD_TELEGRAM_TOKEN, "
        "never from the file"
    ]
    assert problems({"data_keys": ["k"]})[0].startswith("config.toml: data_keys: secrets")
    assert problems({"telegram": {"token_file": "x"}}) == [
        "config.toml: telegram.token_file: unknown key"
    ]


def test_database_url_override_from_environment() -> None:
    env = {"HEARTGUARD_DATABASE_URL": "postgresql+asyncpg://u:pw@db/hg"}
    assert load_settings(None, env).database.url == "postgresql+asyncpg://u:pw@db/hg"


def test_config_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path(None, {}) is None
    assert resolve_config_path(None, {"HEARTGUARD_CONFIG": "/etc/hg.toml"}) == Path("/etc/hg.toml")
    (tmp_path / "config.toml").write_text("")
    assert resolve_config_path(None, {}) == Path("config.toml")
    assert resolve_config_path("other.toml", {"HEARTGUARD_CONFIG": "x"}) == Path("other.toml")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[database\nurl=1", "invalid TOML"),
        ('[reminders]\ndefault_time = "25:99"', "reminders.default_time: expected a local time"),
        ("[reminders]\ncaring_contact_days = [0, 3]", "reminders.caring_contact_days (the days"),
        ('[telegram]\nmode = "webhook"', "telegram: webhook mode needs webhook_public_url"),
        ("[crisis_resources]\nlines = []", "crisis_resources.lines"),
    ],
)
def test_config_check_cli_reports_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content, encoding="utf-8")
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert str(path) in err
    assert "Traceback" not in err


def test_config_check_cli_accepts_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(EXAMPLE)]) == 0
    assert "ok" in capsys.readouterr().out


def test_config_check_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "/nonexistent/heartguard.toml"]) == 1
    assert "file not found" in capsys.readouterr().err


@given(st.integers(min_value=1, max_value=10**7))
def test_durations_round_trip(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("bad", ["", "0m", "10", "m", "-5m", "10x", "1h 2q", 10])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="positive duration"):
        parse_duration(bad)


def test_the_web_and_wechat_sections_name_each_bad_key() -> None:
    lines = problems(
        {
            "web": {"public_url": "xinwei.example.cn", "port": 0},
            "wechat": {"path": "wechat", "api_base_url": ""},
        }
    )
    assert sorted(lines) == sorted(
        [
            'config.toml: web.public_url: expected an http(s) URL such as "https://xinwei.example.cn"',
            "config.toml: web.port: expected a number of at least 1",
            'config.toml: wechat.path: expected a path such as "/wechat"',
            'config.toml: wechat.api_base_url: expected an http(s) URL such as "https://api.weixin.qq.com"',
        ]
    )


def test_wechat_needs_the_web_a_public_url_and_an_app_id() -> None:
    assert problems({"wechat": {"enabled": True}}) == [
        "config.toml: wechat.enabled: needs web.enabled (the web server serves it)",
        "config.toml: wechat.enabled: needs web.public_url (its replies link there)",
        "config.toml: wechat.app_id: required when wechat.enabled",
    ]


def test_web_and_wechat_secrets_come_from_the_environment_only() -> None:
    lines = problems({"web": {"secret": "x" * 40}, "wechat": {"token": "t"}})
    never = "never from the file"
    assert lines == [
        f"config.toml: web.secret: secrets are read from $HEARTGUARD_WEB_SECRET, {never}",
        f"config.toml: wechat.token: secrets are read from $HEARTGUARD_WECHAT_TOKEN, {never}",
    ]
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(
            {},
            source="config.toml",
            environ={"HEARTGUARD_WEB_SECRET": "short", "HEARTGUARD_WECHAT_AES_KEY": "nope"},
        )
    assert sorted(info.value.problems) == [
        "config.toml: web.secret: $HEARTGUARD_WEB_SECRET must be at least 32 characters",
        "config.toml: wechat.aes_key: $HEARTGUARD_WECHAT_AES_KEY must be 43 characters of "
        "A-Z, a-z, 0-9, + and /",
    ]
    assert "short" not in "\n".join(info.value.problems)
