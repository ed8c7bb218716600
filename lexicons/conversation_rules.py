"""The rules that combine cue classes across a conversation, as a table.

Each rule names a level, a category, a reason, and the groups of cue classes it needs: one
mark of any kind in each group, from any live message (``lexicons.window`` requires the
current message and an earlier one among them). Read a row as "A and B and C".
"""

from __future__ import annotations

from core.vocabulary import RiskLevel

Needs = tuple[tuple[str, ...], ...]
IMMINENT, HIGH = RiskLevel.IMMINENT, RiskLevel.HIGH

SERIOUS = ("lethal", "plan", "hoard", "pact", "method_search")
INTENT = ("active", "ideation", "resolve", "plan", "pact")
DESPAIR = ("passive", "hopeless", "burden", "isolation", "ideation", "self_harm")
FAREWELL = ("farewell", "giving_away", "scheduled")
MEANS = ("means", "lethal")
WHEN = ("timing", "now")
BLAND = ("goodbye", "then", "thanks")

RULES: tuple[tuple[RiskLevel, str, str, Needs], ...] = (
    # A time with the means: 药攒够了 … 就今天吧.
    (IMMINENT, "plan", "means_with_time", (SERIOUS, WHEN)),
    (IMMINENT, "plan", "means_with_time", (("means",), INTENT, WHEN)),
    # The place checked, the time set: the roof door opens … tonight.
    (IMMINENT, "plan", "means_with_time", (MEANS, ("edge", "method_search"), WHEN)),
    # Ready, with a wish, and a time: 想重开 … 今晚 东西都准备好了.
    (IMMINENT, "plan", "means_with_time", (("prepared",), INTENT, WHEN)),
    # Alone with the means: 家里没人 … 药攒够了 … 今晚 / 刀在桌上 … 一直盯着它看.
    (IMMINENT, "plan", "alone_with_means", (("alone",), SERIOUS, INTENT)),
    (IMMINENT, "plan", "alone_with_means", (("alone",), SERIOUS, WHEN)),
    (IMMINENT, "plan", "alone_with_means", (("alone",), ("means",), ("fixation",))),
    (IMMINENT, "plan", "alone_with_means",
     (("alone",), ("means",), ("quantity",), ("goodbye", "thanks", "farewell", "timing"))),
    # The means packed, a place where nobody goes, a time: rope in the backpack … after dinner.
    (IMMINENT, "plan", "alone_with_means", (("prepared",), MEANS, ("alone",), WHEN)),
    # A parent's pills counted, and a time: 我妈的安眠药 … 数过了三十多片 … 等他们睡着.
    (IMMINENT, "plan", "means_with_time", (("family_means",), ("quantity", "hoard"), WHEN)),
    # A plan, then a goodbye or a bland "see you then": 约好了周六 … 到时候见.
    (IMMINENT, "farewell", "plan_then_goodbye", (SERIOUS, FAREWELL)),
    (IMMINENT, "farewell", "plan_then_goodbye", (SERIOUS, ("then",))),
    (IMMINENT, "farewell", "plan_then_goodbye", (SERIOUS, ("timing",), BLAND)),
    (IMMINENT, "farewell", "plan_then_goodbye", (INTENT, ("farewell",))),
    # Swallowed or drunk, then its effects: 家里有84 … 喝了一口 好辣 / 吃了我妈的药 … 好困.
    (IMMINENT, "attempt", "taken_then_symptoms", (MEANS, ("consumed", "taken"), ("caustic",))),
    (IMMINENT, "attempt", "taken_then_symptoms",
     (MEANS, ("consumed",), ("symptom",), ("quantity", "lethal", "hoard", *INTENT, *DESPAIR))),
    (IMMINENT, "attempt", "taken_then_symptoms",
     (("taken",), ("symptom",), ("quantity", "lethal", "hoard", *INTENT, *DESPAIR))),
    # Swallowed a counted dose, drug unnamed, then its effects: 吞了二十多颗 … 肚子好痛.
    (IMMINENT, "attempt", "taken_then_symptoms", (("consumed",), ("quantity",), ("symptom",))),
    # At the edge: 烂尾楼 … 上面一个人都没有 … 往下看有点晕.
    (IMMINENT, "location", "at_the_edge", (MEANS, ("edge",), ("alone", "now"))),
    # A friend's danger across messages: a goodbye, pills, then no answer.
    (IMMINENT, "peer_concern", "peer_in_danger_now", (("peer_risk",), ("peer_gone",))),
    # … or pills shown, then "bye" from them, then no answer.
    (IMMINENT, "peer_concern", "peer_in_danger_now",
     (("peer_goodbye",), ("peer_gone",), (*MEANS, "their_means", "quantity"))),
    # A pact: "for both of us", with the means and a time.
    (IMMINENT, "suicide_pact", "pact_with_time", (("pact_hint", "pact"), MEANS, (*WHEN, "then"))),
    # Arranged to meet at a place at a time, and the other one brings the means.
    (IMMINENT, "suicide_pact", "pact_with_time",
     (("arranged",), MEANS, (*WHEN, "then"), ("their_means",))),
    (HIGH, "suicide_pact", "pact", (("pact_hint",), ("means", "timing", *INTENT))),
    # A friend thanks the student for everything, then cannot be reached.
    (HIGH, "peer_concern", "peer_farewell", (("peer_thanks",), ("peer_gone",))),
    # A friend said she would kill herself, and hands her things over.
    (HIGH, "peer_concern", "peer_farewell", (("peer_intent",), ("peer_parting",))),
    # The mind made up, a day set, with despair: 我想好了 … 这周末 / "made up my mind".
    (HIGH, "active_ideation", "resolve_with_time", (("resolve",), ("timing",), DESPAIR)),
    # A height asked about, then how sure it would be: 几楼才能… / "to not survive".
    (HIGH, "means_method", "method_question", (("height_question",), ("certainty",))),
    (HIGH, "plan", "ideation_with_means", (("active",), ("means", *SERIOUS))),
    (HIGH, "plan", "ideation_with_means", (INTENT, SERIOUS)),
    (HIGH, "plan", "gathering_means", (("hoard",), ("quantity", "means"))),
    (HIGH, "active_ideation", "ideation_with_resolve", (INTENT, ("resolve",))),
    (HIGH, "active_ideation", "ideation_with_time", (("active",), ("timing",))),
    (HIGH, "active_ideation", "ideation_in_earnest", (("ideation", "passive"), ("earnest",))),
    # Hurt by someone, and no wish to go on: 继父又进我房间了 … 我真的不想活了.
    (HIGH, "active_ideation", "hurt_and_hopeless", (("hurt",), DESPAIR)),
    (HIGH, "self_harm", "relapse", (("relapse",), ("means", "timing", "self_harm"))),
    # An adult's secret contact, and a meeting arranged.
    (HIGH, "grooming", "grooming_meeting", (("hurt",), ("meeting",))),
    # Belongings given away, a post scheduled, thanks for everything, with despair.
    (HIGH, "farewell", "farewell_preparations", (FAREWELL, DESPAIR)),
    (HIGH, "farewell", "farewell_preparations", (FAREWELL, ("thanks", "then"))),
    (HIGH, "farewell", "farewell_preparations", (("thanks",), DESPAIR, ("goodbye",))),
)  # fmt: skip
# Three different kinds of despair or farewell across the conversation: risk building up.
BUILDS = (*DESPAIR, *FAREWELL, "thanks")
