"""The chat page's files on their own: size, strings, escaping, ES5, no outside hosts."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.channels.web.assets import CHAT_TEMPLATE, STATIC_DIR, TEMPLATES_DIR
from bot.channels.web.lines import AnswerButton, ChatLine, page_lines
from bot.channels.web.ui_texts import COMMANDS, UI_TEXTS, ui_texts

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 3, 2, 21, 30, tzinfo=SHANGHAI)
BUDGET_BYTES = 100 * 1024
PAGE_FILES = sorted([*TEMPLATES_DIR.iterdir(), *STATIC_DIR.iterdir()])
TEMPLATE = (TEMPLATES_DIR / CHAT_TEMPLATE).read_text(encoding="utf-8")
SCRIPT = (STATIC_DIR / "chat.js").read_text(encoding="utf-8")
STYLE = (STATIC_DIR / "chat.css").read_text(encoding="utf-8")


def render(**overrides: Any) -> str:
    """Render chat.html the way Starlette does (autoescape for .html), strictly."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
    )
    context: dict[str, Any] = {
        "lang": "zh",
        "ui": ui_texts("zh"),
        "lines": [],
        "csrf": "tok-123",
        "banner": None,
        "crisis_lines": [{"name": "心理援助热线", "number": "12356", "hours": "24小时"}],
        "shared": False,
    }
    context.update(overrides)
    return env.get_template(CHAT_TEMPLATE).render(**context)


def test_the_pages_own_code_stays_under_100_kb() -> None:
    sizes = {path.name: path.stat().st_size for path in PAGE_FILES}
    assert {"chat.html", "chat.css", "chat.js"} <= set(sizes)
    assert sum(sizes.values()) < BUDGET_BYTES, sizes


def test_the_package_data_ships_every_page_file() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["bot"]
    bot_dir = TEMPLATES_DIR.parents[2]
    for path in PAGE_FILES:
        name = path.relative_to(bot_dir).as_posix()
        assert any(fnmatch(name, pattern) for pattern in patterns), name


def test_both_languages_have_the_same_strings() -> None:
    assert set(UI_TEXTS["zh"]) == set(UI_TEXTS["en"])
    assert all(value.strip() for texts in UI_TEXTS.values() for value in texts.values())
    assert ui_texts("fr") is UI_TEXTS["zh"]
    assert ui_texts(None) is UI_TEXTS["zh"]


def test_every_string_the_template_and_script_use_exists() -> None:
    used = set(re.findall(r"\bui\.([a-z_]+)", TEMPLATE + SCRIPT))
    used |= set(re.findall(r"ui\['([a-z_]+)'\]", TEMPLATE))
    used |= {f"command_{name}" for name in COMMANDS}
    used |= {f"sender_{who}" for who in ("student", "bot", "counselor")}
    assert used - set(UI_TEXTS["zh"]) == set()
    assert re.findall(r"for name in \[([^\]]*)\]", TEMPLATE) == [
        ", ".join(f"'{name}'" for name in COMMANDS)
    ]


@pytest.mark.parametrize(
    "pattern",
    [r"=>", r"\blet\s", r"\bconst\s", "`", r"\bfetch\s*\(", r"\bclass\s", r"\basync\b", r"\.\.\."],
)
def test_the_script_is_es5(pattern: str) -> None:
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", SCRIPT, flags=re.DOTALL)
    assert not re.search(pattern, code)


def test_nothing_is_loaded_from_another_host() -> None:
    page = render()
    for link in re.findall(r'(?:src|href|action)="([^"]*)"', page):
        assert link.startswith(("/", "#", "tel:")), link
    assert "url(" not in STYLE
    assert "@import" not in STYLE
    assert "@font-face" not in STYLE
    assert not re.search(r"https?://", SCRIPT + STYLE)


def test_the_page_opens_into_the_conversation_with_the_crisis_lines() -> None:
    page = render()
    assert 'id="composer"' in page
    assert 'name="text"' in page
    assert '<a href="tel:12356">12356</a>' in page
    assert 'href="#help"' in page
    assert ui_texts("zh")["empty"] in page
    assert page.count('name="csrf" value="tok-123"') == 3


def test_student_text_and_banner_are_escaped() -> None:
    line = ChatLine(1, "student", "<script>alert(1)</script> & 你好", AT)
    page = render(lines=page_lines([line]), banner="<b>周一</b>")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 你好" in page
    assert "&lt;b&gt;周一&lt;/b&gt;" in page
    assert '<time datetime="2026-03-02T21:30:00+08:00">21:30</time>' in page


def test_the_ui_strings_reach_the_script_as_safe_json() -> None:
    page = render(ui={**ui_texts("zh"), "send": "</script><b>"})
    blob = page.split('<script type="application/json" id="hg-ui">')[1].split("</script>")[0]
    assert "<" not in blob
    assert "\\u003c/script\\u003e" in blob


def test_answer_buttons_render_as_a_form_with_the_prompt() -> None:
    asked = ChatLine(2, "bot", "今天怎么样？", AT, (AnswerButton("ok", "还行"),), "p-2")
    page = render(lines=page_lines([asked]))
    assert '<input type="hidden" name="prompt" value="p-2">' in page
    assert '<button type="submit" name="button" value="ok">还行</button>' in page


def test_english_and_shared_mode() -> None:
    page = render(lang="en", ui=ui_texts("en"), shared=True, error="Please write something.")
    assert '<html lang="en"' in page
    assert "Send</button>" in page
    assert ui_texts("en")["shared_active"] in page
    assert 'name="shared" value="0"' in page
    assert 'autocomplete="off"' in page
    assert "Please write something." in page


def test_buttons_stay_only_on_the_newest_line_that_has_them() -> None:
    first = ChatLine(1, "bot", "q1", AT, (AnswerButton("a", "A"),), "p1")
    second = ChatLine(3, "bot", "q2", AT, (AnswerButton("b", "B"),), "p3")
    plain = ChatLine(4, "bot", "note", AT)
    reply = ChatLine(2, "student", "A", AT)
    shown = page_lines([plain, second, reply, first])
    assert [line["id"] for line in shown] == [1, 2, 3, 4]
    assert [bool(line["buttons"]) for line in shown] == [False, False, True, False]
    assert shown[2] == {
        "id": 3,
        "sender": "bot",
        "text": "q2",
        "buttons": [{"value": "b", "label": "B"}],
        "prompt": "p3",
        "at": "2026-03-02T21:30:00+08:00",
        "file": None,
    }


def test_a_file_line_links_to_its_download_and_a_refused_draft_goes_back_in_the_box() -> None:
    line = ChatLine(5, "bot", "heartguard-mydata.json", AT, file="heartguard-mydata.json")
    page = render(lines=page_lines([line]), draft="<我写的话>")
    assert 'href="/chat/files/5" download>下载 heartguard-mydata.json</a>' in page
    assert "&lt;我写的话&gt;</textarea>" in page


def test_a_line_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ChatLine(1, "bot", "hi", AT.replace(tzinfo=None))
