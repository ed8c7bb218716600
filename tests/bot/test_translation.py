"""The command line in Chinese: complete catalogs, and the language chosen by locale or --lang."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bot.cli.main import main
from bot.translation import LANGUAGES, catalog, language_of

ROOT = Path(__file__).resolve().parents[2]
Capture = pytest.CaptureFixture[str]
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sr]|%[sr]")


def marked() -> set[str]:
    """Every message the code marks with _() or N_()."""
    found = extract_from_dir(
        str(ROOT / "bot"),
        method_map=[("**.py", "python")],
        keywords={"_": None, "N_": None},
    )
    return {message for _file, _line, message, _comments, _context in found if message}


@pytest.mark.parametrize("language", LANGUAGES)
def test_both_catalogs_translate_every_marked_message(language: str) -> None:
    messages = marked()
    assert len(messages) > 150
    translated = catalog(language)
    missing = sorted(messages - set(translated))
    assert not missing, f"bot/locale/{language}.po lacks (run `make messages`): {missing[:5]}"
    for message in messages:
        assert sorted(PLACEHOLDER.findall(translated[message])) == sorted(
            PLACEHOLDER.findall(message)
        ), f"{language}: placeholders differ in {message!r}"
        # argparse formats help with %: a lone % in a translation would break --help.
        assert "%" not in re.sub(r"%(\(\w+\))?[sr%]", "", translated[message]), message


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {"LANG": "zh_CN.UTF-8"}, "zh"),
        ([], {"LANG": "en_US.UTF-8"}, "en"),
        ([], {}, "en"),
        (["schools", "list", "--lang", "zh"], {"LANG": "en_US.UTF-8"}, "zh"),
        (["--lang=en", "schools"], {"LC_ALL": "zh_CN.UTF-8"}, "en"),
        ([], {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ],
)
def test_the_language_comes_from_lang_or_the_locale(
    argv: list[str], env: dict[str, str], expected: str
) -> None:
    assert language_of(argv, env) == expected


def test_help_is_chinese_with_a_chinese_locale(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    with pytest.raises(SystemExit):
        main(["schools", "add", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("用法：heartguard schools add")
    assert "简短且唯一的代码" in out
    assert "显示这个帮助信息并退出" in out


def test_errors_are_chinese_with_lang_zh(capsys: Capture) -> None:
    with pytest.raises(SystemExit):
        main(["duty", "off", "3", "2026-13-01", "--lang", "zh"])
    err = capsys.readouterr().err
    assert err == (
        "heartguard duty off：错误：参数 day：'2026-13-01' 不是日期：应写成 YYYY-MM-DD，"
        "例如 2026-10-01\n"
    )


def test_admin_errors_are_chinese(cli_env: Path, capsys: Capture) -> None:
    args = ["counselors", "add", "陈老师", "--role", "district_crisis", "--email", "x"]
    assert main([*args, "--lang", "zh"]) == 1
    assert capsys.readouterr().err == (
        "heartguard：错误：--email 'x'：应是邮箱地址，例如 chen@school.cn\n"
    )
    assert main(args) == 1  # and English again without it
    assert "expected an e-mail address" in capsys.readouterr().err


def test_config_problems_are_chinese_with_lang_zh(tmp_path: Path, capsys: Capture) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[escalation]\ntick_interval = "soon"\n[escalation.policies.urgent]\nsteps = []\n',
        encoding="utf-8",
    )
    assert main(["config", "check", str(config), "--lang", "zh"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f'heartguard：配置：{config}: escalation.tick_interval: 应是正的时长，例如 "10m"' in err
    assert any("(这个优先级提醒链的各个步骤): 不能为空" in line for line in err)
