"""HeartGuard's conversation engine: flows declared in TOML, compiled into ``transitions``
machines, stepped purely (no I/O, no clock), with every student-facing text in catalogs.

Typical use by the message pipeline::

    engine = FlowEngine(FlowConfig(...))          # once, at start-up
    result = engine.step(conversation, profile, Input.text(text), signal, now)
    store(result.conversation.to_json())          # same transaction as the events
    for effect in result.effects: ...             # Reply → render via engine.catalog; Event → act
"""

from flows.catalog import CALLER_PARAMS, Catalog, load_catalog
from flows.check import check_flows
from flows.config import FlowConfig, InstrumentBand
from flows.conversation import JSON, Conversation, Frame
from flows.effects import EVENT_TYPES, Effect, FlowEvent, Reply, StepResult
from flows.engine import FlowEngine
from flows.errors import DefinitionError, FlowError
from flows.graph import mermaid
from flows.inputs import Input
from flows.profile import StudentProfile
from flows.signals import NO_SIGNAL, RiskSignal

__all__ = [
    "CALLER_PARAMS",
    "EVENT_TYPES",
    "JSON",
    "NO_SIGNAL",
    "Catalog",
    "Conversation",
    "DefinitionError",
    "Effect",
    "FlowConfig",
    "FlowEngine",
    "FlowError",
    "FlowEvent",
    "Frame",
    "Input",
    "InstrumentBand",
    "Reply",
    "RiskSignal",
    "StepResult",
    "StudentProfile",
    "check_flows",
    "load_catalog",
    "mermaid",
]
