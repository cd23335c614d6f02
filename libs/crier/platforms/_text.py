"""Counting text the way platforms count it. Mastodon and Bluesky limit posts in grapheme clusters
(what a reader sees as one character: `é` written as e + accent, 👍🏽, 🇫🇷, 👨‍👩‍👧), not code points.

`graphemes` follows the extended grapheme cluster rules of Unicode's UAX #29 closely enough for text
people post: combining marks, variation selectors, emoji modifiers and ZWJ sequences, tag
sequences, keycaps, flag pairs, Hangul jamo and CR LF. It is not the full table-driven algorithm
(no Prepend characters, no Indic conjuncts).
"""

from __future__ import annotations

import unicodedata

_ZWJ = 0x200D


def _extends(cp: int, ch: str) -> bool:
    """Joins whatever comes before it (Extend, ZWJ and SpacingMark)."""
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or cp == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tags (subdivision flags)
        or 0xE0100 <= cp <= 0xE01EF
    )


def _pictographic(cp: int, ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= cp <= 0x1FAFF


def _regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _hangul(cp: int) -> str:
    """L, V, T (conjoining jamo), LV (a syllable that takes a T) or "" for other characters."""
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


def graphemes(text: str) -> int:
    count = 0
    prev_cp = -1
    prev_ch = ""
    regional_run = 0  # regional indicators since the last non-indicator
    for ch in text:
        cp = ord(ch)
        joins = False
        if count:
            if prev_ch == "\r" and ch == "\n":
                joins = True
            elif prev_ch in ("\r", "\n") or unicodedata.category(prev_ch) == "Cc":
                joins = False
            elif _extends(cp, ch) or (prev_cp == _ZWJ and _pictographic(cp, ch)):
                joins = True
            elif _regional(cp) and _regional(prev_cp):
                joins = regional_run % 2 == 1
            else:
                before, now = _hangul(prev_cp), _hangul(cp)
                joins = (
                    (before == "L" and now in ("L", "V", "LV", "LVT"))
                    or (before in ("LV", "V") and now in ("V", "T"))
                    or (before in ("LVT", "T") and now == "T")
                )
        if not joins:
            count += 1
        regional_run = regional_run + 1 if _regional(cp) else 0
        prev_cp, prev_ch = cp, ch
    return count
