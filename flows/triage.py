"""What a risk signal means for the conversation, decided before the input is handled.

- ``high`` / ``imminent`` from any flow: go to the crisis flow (resources, a counselor is
  contacted, the acuity question or "are you somewhere safe?") with an urgent / emergency
  case request. Inside the crisis flow a signal only restarts it when the level rises.
- ``moderate`` with a suicidality category: start the ASQ screen, unless already in the ASQ or
  the crisis flow. The interrupted flow is paused and resumed if the screen is negative.
- ``moderate`` with a safeguarding, harm-to-others or peer category: a routine case request
  and a caring reply, without breaking the current flow.
- ``moderate`` distress alone (or a category this code does not know): the ASQ asks too; the
  student's own answer decides.

Every high or imminent signal makes a case request, even mid-crisis: the caller attaches
repeats to the student's one open case, and the new evidence matters to the counselor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.vocabulary import CATEGORIES, Concern, Priority
from flows.conversation import JSON
from flows.definition import ASQ as ASQ_FLOW
from flows.definition import CRISIS as CRISIS_FLOW
from flows.signals import RiskSignal
from flows.texts import CARE_OTHERS, CARE_PEER, CARE_SAFEGUARDING

_CRISIS_ENTRY = {"high": "high", "imminent": "imminent"}
_PRIORITY: dict[str, Priority] = {"high": "urgent", "imminent": "emergency"}
_RANK = {"high": 1, "imminent": 2}
# A moderate concern that a counselor follows up without interrupting the student: the case
# reason and the caring reply, most serious first (one reply even when several apply).
_FOLLOW_UP: tuple[tuple[Concern, str, str], ...] = (
    (Concern.SAFEGUARDING, "safeguarding", CARE_SAFEGUARDING),
    (Concern.OTHERS, "harm_to_others", CARE_OTHERS),
    (Concern.PEER, "peer_concern", CARE_PEER),
)
# Concerns whose moderate signal is a reason to ask the ASQ: the student's answer decides.
_SCREEN = frozenset({Concern.SUICIDALITY, Concern.DISTRESS})


@dataclass(frozen=True)
class Decision:
    """What to do about a signal.

    Attributes:
        flow: Flow to switch to (``None``: keep handling the input where we are).
        entry: Entry state of that flow.
        case: ``(priority, reason)`` of a case request, if any.
        care_text: A caring reply to send without interrupting, if any.
    """

    flow: str | None = None
    entry: str | None = None
    case: tuple[Priority, str] | None = None
    care_text: str | None = None


NOTHING = Decision()


def concerns(signal: RiskSignal) -> frozenset[Concern]:
    """The concerns of the signal's categories (unknown categories count as suicidality)."""
    return frozenset(CATEGORIES.get(c, Concern.SUICIDALITY) for c in signal.categories)


def decide(signal: RiskSignal, flow: str | None, context: Mapping[str, JSON]) -> Decision:
    """Decide how ``signal`` affects a student currently in ``flow`` (``None``: no flow yet)."""
    if signal.level in _CRISIS_ENTRY:
        crisis_case = (_PRIORITY[signal.level], f"risk_{signal.level}")
        current = context.get("level") if flow == CRISIS_FLOW else None
        if isinstance(current, str) and _RANK.get(current, 0) >= _RANK[signal.level]:
            return Decision(case=crisis_case)
        return Decision(flow=CRISIS_FLOW, entry=_CRISIS_ENTRY[signal.level], case=crisis_case)
    if signal.level != "moderate":
        return NOTHING
    present = concerns(signal)
    case: tuple[Priority, str] | None = None
    care_text = None
    for concern, reason, text in _FOLLOW_UP:
        if concern in present:
            case, care_text = ("routine", reason), text
            break
    # Screen when the student's own safety is in question; a moderate signal of someone
    # else's danger alone (a peer, safeguarding) does not make the student take the ASQ.
    if (present & _SCREEN or not present) and flow not in (ASQ_FLOW, CRISIS_FLOW):
        return Decision(flow=ASQ_FLOW, entry=None, case=case, care_text=care_text)
    return Decision(case=case, care_text=care_text)
