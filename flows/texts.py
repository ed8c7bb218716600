"""Catalog ids of the texts the engine itself sends (the flows name theirs in TOML)."""

from __future__ import annotations

CHOOSE_OPTION = "input.choose_option"
EMPTY = "input.empty"
TOO_LONG = "input.too_long"
STALE_BUTTON = "input.stale_button"
MEDIA = "input.media"
HELP = "help.text"
# After the help text: the commands this student can use (all, limited, or only /start).
HELP_COMMANDS = "help.commands"
HELP_COMMANDS_LIMITED = "help.commands_limited"
HELP_COMMANDS_NEW = "help.commands_new"
CANCEL_DONE = "cancel.done"
CANCEL_NOTHING = "cancel.nothing"
COMMAND_UNKNOWN = "command.unknown"
ONBOARD_FIRST = "access.onboard_first"
RESTRICTED = "access.restricted"
FLOW_RESET = "flow.reset"
FLOW_EXPIRED = "flow.expired"
FLOW_RESUME = "flow.resume"
CARE_SAFEGUARDING = "care.safeguarding"
CARE_PEER = "care.peer"
CARE_OTHERS = "care.others"
CARE_OTHERS_URGENT = "care.others_urgent"
CARE_PEER_URGENT = "care.peer_urgent"
CARE_EATING = "care.eating"
CARE_EATING_URGENT = "care.eating_urgent"
CARE_SEXUAL_ABUSE = "care.sexual_abuse"
CARE_PACT = "care.pact"
CARE_HURT = "care.hurt"

ENGINE_TEXTS = frozenset(
    {
        CHOOSE_OPTION,
        EMPTY,
        TOO_LONG,
        STALE_BUTTON,
        MEDIA,
        HELP,
        HELP_COMMANDS,
        HELP_COMMANDS_LIMITED,
        HELP_COMMANDS_NEW,
        CANCEL_DONE,
        CANCEL_NOTHING,
        COMMAND_UNKNOWN,
        ONBOARD_FIRST,
        RESTRICTED,
        FLOW_RESET,
        FLOW_EXPIRED,
        FLOW_RESUME,
        CARE_SAFEGUARDING,
        CARE_PEER,
        CARE_OTHERS,
        CARE_OTHERS_URGENT,
        CARE_PEER_URGENT,
        CARE_EATING,
        CARE_EATING_URGENT,
        CARE_SEXUAL_ABUSE,
        CARE_PACT,
        CARE_HURT,
    }
)

# Texts the caller sends itself, outside any step (flood control's "slow down" note).
SLOW_DOWN = "notice.slow_down"
REACH_TEXTS = frozenset(
    {
        "reach.alerted.school",
        "reach.alerted.district",
        "reach.alerted.nobody",
        "reach.followup.now",
        "reach.followup.later",
        "reach.followup.nobody",
    }
)
CALLER_TEXTS = frozenset({SLOW_DOWN}) | REACH_TEXTS

# Placeholders the engine fills itself in the texts above ("{max}" in TOO_LONG).
ENGINE_PARAMS = frozenset({"max"})

# Alias keys (in the catalogs' [aliases] table) for words that work like commands anywhere:
# "退出" / "cancel" / "exit" leave any flow; "帮助" / "help" show help.
ALIAS_CANCEL = "command.cancel"
ALIAS_HELP = "command.help"
