"""Two reading levels: the same flows, in words a grade-3 pupil can read or in a teen's.

A catalog key ``simple.X`` is the simple-register wording of ``X``: short sentences, common
characters (checked against 《通用规范汉字表》 level 1 by the tests) and no clinical words. A
student in grade 3–6 (``FlowConfig.simple_register_max_grade``) reads ``simple.X`` wherever it
exists; everyone else, and a student whose grade is unknown, reads ``X``. Button labels have
one register: students may type them, and the matcher knows one label per option.
"""

from __future__ import annotations

from collections.abc import Iterable

from flows.catalog import Catalog
from flows.effects import Effect, Reply

SIMPLE = "simple."


def simple_key(text_id: str) -> str:
    """The catalog key of a text's simple-register wording."""
    return SIMPLE + text_id


def base_key(text_id: str) -> str:
    """The text a simple-register key words differently."""
    return text_id.removeprefix(SIMPLE)


def in_register(effects: Iterable[Effect], catalog: Catalog, simple: bool) -> tuple[Effect, ...]:
    """``effects`` with each reply in the student's register."""
    if not simple:
        return tuple(effects)
    out: list[Effect] = []
    for effect in effects:
        if isinstance(effect, Reply) and catalog.has(
            simple_key(effect.text_id), catalog.default_language
        ):
            effect = Reply(simple_key(effect.text_id), effect.params, effect.buttons)
        out.append(effect)
    return tuple(out)
