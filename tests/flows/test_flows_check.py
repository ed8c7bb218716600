"""``flows check`` finds every kind of problem, the packaged flows have none, diagrams are fresh."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from flows import Catalog, check_flows, load_catalog, mermaid
from flows.catalog import placeholders
from flows.definition import FlowDef, load_flows, parse_flow
from flows.errors import DefinitionError

FLOWS = load_flows()
CATALOG = load_catalog()


def with_flow(toml: str, name: str = "extra") -> dict[str, FlowDef]:
    flows = dict(FLOWS)
    flows[name] = parse_flow(name, toml, f"{name}.toml")
    return flows


def with_text(lang: str, key: str, text: str | None) -> Catalog:
    texts = {language: dict(table) for language, table in CATALOG.texts.items()}
    if text is None:
        del texts[lang][key]
    else:
        texts[lang][key] = text
    return Catalog(texts=texts, aliases=CATALOG.aliases)


def test_the_packaged_flows_and_catalogs_have_no_problems() -> None:
    assert check_flows() == []


def test_every_built_in_flow_is_there() -> None:
    assert set(FLOWS) == {
        "onboarding",
        "home",
        "checkin",
        "asq",
        "crisis",
        "talk",
        "safety_plan",
        "settings",
        "privacy",
    }


GOOD_STATE = """
[flow]
entries = ["a"]
[states.a]
ask = "home.menu.q"
input = "choice"
options = ["yes", "no"]
[[states.a.go]]
to = "done"
[states.done]
final = true
"""


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("[states.island]\nfinal = true\n", "states.island: unreachable"),
        (
            '[states.stuck]\nask = "home.menu.q"\ninput = "text"\n'
            '[[states.a.go]]\nto = "stuck"\nwhen = "yes"\n',
            "states.stuck: dead end",
        ),
        (
            '[states.b]\n[[states.b.go]]\nto = "done"\nif = "onboarded"\n'
            '[[states.a.go]]\nto = "b"\n',
            "states.b: pass-through state may stall",
        ),
        (
            '[states.p]\n[[states.p.go]]\nto = "q"\n[states.q]\n[[states.q.go]]\nto = "p"\n'
            '[[states.a.go]]\nto = "p"\n',
            "pass-through loop",
        ),
    ],
)
def test_graph_problems_are_found(extra: str, problem: str) -> None:
    assert problem in "\n".join(check_flows(with_flow(GOOD_STATE + extra)))


def test_an_answer_that_leads_nowhere_is_found() -> None:
    toml = GOOD_STATE.replace(
        '[[states.a.go]]\nto = "done"', '[[states.a.go]]\nto = "done"\nwhen = "yes"'
    )
    assert "answer 'no' has no unconditional way out" in "\n".join(check_flows(with_flow(toml)))


def test_unknown_names_are_found() -> None:
    toml = (
        GOOD_STATE.replace('to = "done"', 'to = "done"\nif = "is_tuesday"\ndo = "fly"')
        + 'actions = ["dance"]\nthen = "nowhere:x"\n'
    )
    problems = "\n".join(check_flows(with_flow(toml)))
    assert "unknown condition 'is_tuesday'" in problems
    assert "unknown action 'fly'" in problems
    assert "unknown action 'dance'" in problems
    assert "unknown flow 'nowhere'" in problems


def test_a_command_claimed_twice_is_found() -> None:
    toml = GOOD_STATE.replace('entries = ["a"]', 'entries = ["a"]\ncommands = { checkin = "a" }')
    assert "flow.commands.checkin: already taken by checkin" in "\n".join(
        check_flows(with_flow(toml))
    )


def test_a_crisis_state_that_refuses_free_text_is_found() -> None:
    flows = dict(FLOWS)
    crisis_toml = (resources.files("flows") / "definitions" / "crisis.toml").read_text("utf-8")
    flows["crisis"] = parse_flow(
        "crisis", crisis_toml.replace("accept_text = true", "", 1), "crisis.toml"
    )
    assert "states.acuity: a crisis state must accept free text" in "\n".join(check_flows(flows))


def test_a_system_state_that_refuses_free_text_is_found() -> None:
    flows = dict(FLOWS)
    source = (resources.files("flows") / "definitions" / "onboarding.toml").read_text("utf-8")
    broken = source.replace(
        'options = ["code_ok", "code_invalid", "code_expired", "code_used"]\naccept_text = true',
        'options = ["code_ok", "code_invalid", "code_expired", "code_used"]',
    )
    assert broken != source
    flows["onboarding"] = parse_flow("onboarding", broken, "onboarding.toml")
    assert "states.code_wait: a system state must accept free text" in "\n".join(check_flows(flows))


def test_a_text_missing_from_one_language_is_found() -> None:
    problems = check_flows(catalog=with_text("en", "asq.q1", None))
    assert "asq.toml: states.q1: text 'asq.q1' is missing from the 'en' catalog" in problems
    assert "catalog en: 'asq.q1' is missing (present in zh)" in problems


def test_a_text_used_by_a_flow_but_in_no_catalog_is_found() -> None:
    toml = GOOD_STATE.replace('ask = "home.menu.q"', 'ask = "extra.nowhere"')
    problems = "\n".join(check_flows(with_flow(toml)))
    assert "text 'extra.nowhere' is missing from the 'zh' catalog" in problems
    assert "text 'extra.nowhere' is missing from the 'en' catalog" in problems


def test_a_key_in_only_one_catalog_is_found() -> None:
    problems = check_flows(catalog=with_text("zh", "orphan.key", "孤儿"))
    assert "catalog en: 'orphan.key' is missing (present in zh)" in problems


def test_placeholders_must_match_across_languages_and_be_known() -> None:
    problems = "\n".join(check_flows(catalog=with_text("en", "crisis.resources", "Call {phone}")))
    assert "'crisis.resources' has different placeholders per language" in problems
    assert "uses unknown placeholder {phone}" in problems


def test_two_options_sharing_a_label_is_found() -> None:
    problems = "\n".join(check_flows(catalog=with_text("en", "opt.no", "Yes")))
    assert "options 'yes' and 'no' share the label 'yes'" in problems


def test_a_broken_definition_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[flow\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"broken\.toml"):
        load_flows(tmp_path)  # type: ignore[arg-type]


# -- diagrams --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_committed_diagrams_are_fresh(name: str) -> None:
    committed = (resources.files("flows") / "definitions" / f"{name}.mmd").read_text("utf-8")
    assert committed == mermaid(name), (
        f"flows/definitions/{name}.mmd is stale: regenerate it with `heartguard flows graph {name}`"
    )


def test_a_diagram_shows_every_state_and_transition() -> None:
    diagram = mermaid("asq")
    assert diagram.startswith("stateDiagram-v2\n")
    assert "    [*] --> intro" in diagram
    assert "    screen_result --> q5_intro : if asq_positive" in diagram
    assert "    acute --> [*] : then crisis at acute" in diagram
    for state in FLOWS["asq"].states:
        assert re.search(rf"^    {state}\b", diagram, re.MULTILINE), state


def test_an_unknown_flow_has_no_diagram() -> None:
    with pytest.raises(KeyError):
        mermaid("no_such_flow")


# -- catalog quality -------------------------------------------------------------------------

FORBIDDEN = [
    # No diagnosis of the student.
    r"你(有|患有|得了)(抑郁症|焦虑症)",
    r"you (have|suffer from) (depression|anxiety)",
    # No unconditional secrecy.
    r"(绝对|完全|一定会?)保密",
    r"(always|completely|totally) (confidential|secret)",
    r"no one will (ever )?know",
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_texts_never_diagnose_or_promise_secrecy(lang: str) -> None:
    for key, text in CATALOG.texts[lang].items():
        for pattern in FORBIDDEN:
            assert not re.search(pattern, text, re.IGNORECASE), (lang, key)


@pytest.mark.parametrize(
    "key",
    ["crisis.resources", "crisis.resources_urgent", "help.text", "plan.step5.q"],
)
def test_crisis_numbers_come_from_config_not_the_catalog(key: str) -> None:
    for lang in ("zh", "en"):
        text = CATALOG.text(key, lang)
        assert "resources" in placeholders(text)
        assert not re.search(r"\b(12356|120|110)\b", text)


def test_instrument_answers_use_the_standard_labels() -> None:
    labels = [CATALOG.text(f"opt.{k}", "zh") for k in ("not_at_all", "several_days")]
    labels += [CATALOG.text(f"opt.{k}", "zh") for k in ("more_than_half", "nearly_every_day")]
    assert labels == ["完全不会", "好几天", "一半以上的天数", "几乎每天"]
    assert CATALOG.text("phq9.q9", "zh") == "有不如死掉或用某种方式伤害自己的念头"
    assert CATALOG.text("asq.q5", "en") == "Are you having thoughts of killing yourself right now?"


def test_cli_flows_check_and_graph(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    assert main(["flows", "check"]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["flows", "graph", "asq"]) == 0
    assert capsys.readouterr().out.startswith("stateDiagram-v2")
    assert main(["flows", "graph", "no-such-flow"]) == 1
    assert "unknown flow 'no-such-flow'" in capsys.readouterr().err


def test_a_key_missing_from_the_review_checklist_is_found() -> None:
    checklist = (Path(__file__).parents[2] / "docs" / "content-review.md").read_text("utf-8")
    assert check_flows(checklist=checklist) == []
    without = checklist.replace("| `care.peer`, `simple.care.peer` |", "| (removed) |")
    assert without != checklist
    assert check_flows(checklist=without) == [
        "docs/content-review.md: 'care.peer' is not in the review checklist",
        "docs/content-review.md: 'simple.care.peer' is not in the review checklist",
    ]


def test_a_simple_text_must_word_an_existing_text() -> None:
    catalog = with_text("zh", "simple.no.such.key", "你好")
    catalog = Catalog(
        texts={**catalog.texts, "en": {**catalog.texts["en"], "simple.no.such.key": "Hi"}},
        aliases=catalog.aliases,
    )
    problems = check_flows(catalog=catalog)
    assert "catalog zh: 'simple.no.such.key' words 'no.such.key', which does not exist" in problems
