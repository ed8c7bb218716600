"""Param sources: placeholder values for a state's texts, computed from the turn. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from flows.turn import ParamSource, Turn

PLAN_STEPS = ("warning_signs", "coping", "distraction", "people", "professionals", "environment")
SKIP = "skip"
# Shown for an empty step. Punctuation, not words, so it needs no translation.
_EMPTY = "—"


def plan_answers(turn: Turn) -> dict[str, str]:
    """The plan as it stands: this flow's answers, else the saved plan's (a skip keeps it)."""
    saved = turn.profile.safety_plan or {}
    plan: dict[str, str] = {}
    for step in PLAN_STEPS:
        answer = turn.context.get(f"plan_{step}")
        if isinstance(answer, str) and answer != SKIP:
            plan[step] = answer
        elif saved.get(step):
            plan[step] = saved[step]
    return plan


def plan_params(turn: Turn) -> Mapping[str, str]:
    """Each safety-plan step's text, for showing the plan back to the student."""
    plan = plan_answers(turn)
    return {step: plan.get(step, _EMPTY) for step in PLAN_STEPS}


PARAMS: Mapping[str, ParamSource] = {
    "plan": plan_params,
    "consent_age": lambda turn: {"consent_age": str(turn.config.guardian_consent_age)},
}
PARAM_NAMES = frozenset({*PLAN_STEPS, "consent_age"})
