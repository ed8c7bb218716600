"""Which language a newcomer writes in, from the script of what they wrote (pure).

Until a student picks a language, the first message with letters decides: mostly Latin
letters is English, anything with a real share of Chinese characters is Chinese. A message
without letters (a command alone, digits, emoji) decides nothing, and a mix keeps Chinese,
the district's first language.
"""

from __future__ import annotations

from typing import Literal

# English only when at least this share of the letters are Latin: "I feel 难过" stays Chinese.
LATIN_SHARE = 0.9


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= code <= 0x3134F  # extensions B-G
    )


def _is_latin(char: str) -> bool:
    # ASCII and full-width Latin letters; accented Latin (é, ü) counts too.
    if "a" <= char.lower() <= "z" or "ａ" <= char.lower() <= "ｚ":
        return True
    return char.isalpha() and 0x00C0 <= ord(char) <= 0x024F


def script_language(text: str) -> Literal["zh", "en"] | None:
    """ "en" when the letters are (nearly) all Latin, "zh" when any real share is Chinese,
    None when there are no letters to go by."""
    latin = sum(1 for char in text if _is_latin(char))
    cjk = sum(1 for char in text if _is_cjk(char))
    if latin + cjk == 0:
        return None
    return "en" if latin / (latin + cjk) >= LATIN_SHARE else "zh"
