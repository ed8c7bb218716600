"""--config, --json, --lang and --debug are taken before or after the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import build_parser, main
from bot.cli.options import arrange
from bot.config.settings import load_settings

Capture = pytest.CaptureFixture[str]
LANG = ["--lang", "en"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["schools", "list", "--config", "x.toml"], ["--config", "x.toml", "schools", "list"]),
        (["schools", "list", "--config=x.toml"], ["--config", "x.toml", "schools", "list"]),
        (["--json", "cases", "list"], ["cases", "list", "--json"]),
        (["cases", "list", "--debug"], ["--debug", "cases", "list"]),
        (["db", "upgrade", "-v"], ["-v", "db", "upgrade"]),
        (
            ["--lang", "en", "report", "weekly", "--district", "--week", "2026-W49"],
            ["--lang", "en", "report", "weekly", "--district", "--week", "2026-W49", *LANG],
        ),
        (["schools", "list", "--lang", "zh"], ["--lang", "zh", "schools", "list"]),
        (["cases", "note", "1", "--", "--config"], ["cases", "note", "1", "--", "--config"]),
    ],
)
def test_shared_options_go_where_argparse_reads_them(argv: list[str], expected: list[str]) -> None:
    arranged = arrange(build_parser(), argv)
    assert arranged.argv == expected
    build_parser().parse_args(arranged.argv)  # and they parse


def test_config_after_the_command_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("HEARTGUARD_DATABASE_URL", "HEARTGUARD_CONFIG", "HEARTGUARD_DATA_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "elsewhere" / "config.toml"
    config.parent.mkdir()
    config.write_text('[database]\nurl = "sqlite:///var/hg.db"\n', encoding="utf-8")
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert main(["schools", "add", "BB01", "北碚示例中学", "--config", str(config)]) == 0
    assert main(["--json", "--config", str(config), "cases", "list"]) == 0
    capsys.readouterr()
    assert main(["schools", "list", f"--config={config}"]) == 0
    assert "BB01" in capsys.readouterr().out
    # The database and the key are beside the config file, not in the folder run from.
    assert (config.parent / "var" / "hg.db").exists()
    assert (config.parent / "var" / "data.key").exists()
    assert not (tmp_path / "var").exists()


def test_json_on_a_command_without_it_is_one_line(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--json", "schools", "list"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "heartguard: error: --json: this command has no JSON output\n"


def test_relative_paths_in_a_config_file_are_the_files_folder(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///var/hg.db"\n', encoding="utf-8")
    settings = load_settings(config, {})
    assert settings.database.url == f"sqlite:///{tmp_path}/var/hg.db"
    assert settings.privacy.key_file == f"{tmp_path}/var/data.key"
    assert settings.web.secret_file == f"{tmp_path}/var/web.secret"
    env = {"HEARTGUARD_DATABASE_URL": "sqlite:///here.db"}
    assert load_settings(config, env).database.url == "sqlite:///here.db"
