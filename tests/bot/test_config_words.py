"""Config problems name the key in words, and the database URL by where it came from."""

from __future__ import annotations

import pytest

from bot.config.settings import load_settings, settings_from_mapping
from bot.errors import ConfigError


def problems(data: dict[str, object], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(data, source="config.toml", environ=env or {})
    return caught.value.problems


def test_an_empty_list_is_named_in_plain_words() -> None:
    lines = problems({"escalation": {"policies": {"urgent": {"steps": []}}}})
    assert lines == [
        "config.toml: escalation.policies.urgent.steps (the steps of this priority's alert "
        "chain): must not be empty: give at least 1"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"escalation": {"shifts": [{"counselor": 0, "tier": "district"}]}}, "of at least 1"),
        ({"reports": {"min_cell": "ten"}}, "expected a whole number, e.g. 3"),
        ({"database": {"echo": "maybe"}}, "expected true or false"),
        ({"reminders": {"holidays": ["2026-13-01"]}}, "expected a date like 2026-10-01"),
    ],
)
def test_pydantic_wording_never_reaches_the_administrator(
    data: dict[str, object], expected: str
) -> None:
    (line,) = problems(data)
    assert expected in line
    for raw in ("Input should", "Tuple should", "greater than or equal", "after validation"):
        assert raw not in line


def test_a_bad_database_url_from_the_environment_is_named_as_such() -> None:
    lines = problems({}, {"HEARTGUARD_DATABASE_URL": "mysql://db/hg"})
    assert len(lines) == 1
    assert lines[0].startswith("$HEARTGUARD_DATABASE_URL: expected a URL starting with")
    assert "config.toml" not in lines[0]
    # The same URL in the file is the file's.
    assert problems({"database": {"url": "mysql://db/hg"}})[0].startswith(
        "config.toml: database.url (the database address): expected"
    )


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_plain_postgresql_url_means_the_async_driver(scheme: str) -> None:
    env = {"HEARTGUARD_DATABASE_URL": f"{scheme}://hg@db.internal:5432/hg"}
    assert load_settings(None, env).database.url == "postgresql+asyncpg://hg@db.internal:5432/hg"
    data = {"database": {"url": f"{scheme}://hg@db/hg"}}
    assert settings_from_mapping(data, source="x", environ={}).database.url == (
        "postgresql+asyncpg://hg@db/hg"
    )
