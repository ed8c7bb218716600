"""Named conditions, actions and param sources that flow files may use.

Flow TOML names them; code registers them. An unknown name fails :mod:`flows.check` and stops
the engine from starting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from flows.actions import ACTIONS
from flows.conditions import CONDITIONS
from flows.params import PARAM_NAMES, PARAMS
from flows.turn import Action, Condition, ParamSource


@dataclass(frozen=True)
class Registry:
    """The vocabulary of flow files.

    Attributes:
        conditions: Name → predicate on the turn (pure).
        actions: Name → effect on the turn (emits events, updates context).
        params: Name → placeholder values for the texts of a state (pure).
        param_names: Every placeholder the param sources can fill, for the catalog check.
    """

    conditions: Mapping[str, Condition] = field(default_factory=dict)
    actions: Mapping[str, Action] = field(default_factory=dict)
    params: Mapping[str, ParamSource] = field(default_factory=dict)
    param_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in ("conditions", "actions", "params"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def merged(self, other: Registry) -> Registry:
        """A registry with ``other``'s entries added (``other`` wins on a clash)."""
        return Registry(
            conditions={**self.conditions, **other.conditions},
            actions={**self.actions, **other.actions},
            params={**self.params, **other.params},
            param_names=self.param_names | other.param_names,
        )


def default_registry() -> Registry:
    """The conditions, actions and params the packaged flows use."""
    return Registry(conditions=CONDITIONS, actions=ACTIONS, params=PARAMS, param_names=PARAM_NAMES)
