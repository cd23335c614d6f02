"""Counting text the way platforms count it. Mastodon and Bluesky limit posts in grapheme clusters
(what a reader sees as one character: `é` written as e + accent, 👍🏽, 🇫🇷, 👨‍👩‍👧), not code points.

The `regex` library implements Unicode's extended grapheme clusters (UAX #29, `\\X`) from the
Unicode tables; the standard library's `re` has no such class.
"""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    if text.isascii():
        # Every ASCII character is a cluster of its own but CR LF, one cluster of two (UAX #29's
        # GB3): most posts skip the clusters' regex.
        return len(text) - text.count("\r\n")
    return len(_GRAPHEME.findall(text))
