"""What a risk signal means for the conversation, decided before the input is handled.

- ``high`` / ``imminent`` from any flow: go to the crisis flow (resources, a counselor is
  contacted, the acuity question or "are you somewhere safe?") with an urgent / emergency
  case request. Inside the crisis flow a signal only restarts it when the level rises.
- ``moderate`` with a suicidality category: start the ASQ screen, unless already in the ASQ or
  the crisis flow. The interrupted flow is paused and resumed if the screen is negative.
- ``moderate`` with a safeguarding or peer category: a routine case request and a caring reply,
  without breaking the current flow.

Every high or imminent signal makes a case request, even mid-crisis: the caller attaches
repeats to the student's one open case, and the new evidence matters to the counselor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.conversation import JSON
from flows.definition import ASQ as ASQ_FLOW
from flows.definition import CRISIS as CRISIS_FLOW
from flows.signals import SAFEGUARDING, SUICIDALITY, RiskSignal
from flows.texts import CARE_PEER, CARE_SAFEGUARDING
from flows.turn import Priority

_CRISIS_ENTRY = {"high": "high", "imminent": "imminent"}
_PRIORITY: dict[str, Priority] = {"high": "urgent", "imminent": "emergency"}
_RANK = {"high": 1, "imminent": 2}


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
    case: tuple[Priority, str] | None = None
    care_text = None
    if signal.categories & SAFEGUARDING:
        peer_only = signal.categories & SAFEGUARDING == {"peer_concern"}
        case = ("routine", "peer_concern" if peer_only else "safeguarding")
        care_text = CARE_PEER if peer_only else CARE_SAFEGUARDING
    if signal.categories & SUICIDALITY and flow not in (ASQ_FLOW, CRISIS_FLOW):
        return Decision(flow=ASQ_FLOW, entry=None, case=case, care_text=care_text)
    return Decision(case=case, care_text=care_text)
