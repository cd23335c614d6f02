"""What every reader reads the same way: instants in the platforms' formats, and text."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)


def instant(value: Any) -> datetime | None:
    """ISO 8601 (`Z` or an offset), or epoch milliseconds (LinkedIn); None when it is neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def from_html(value: Any) -> str:
    """Mastodon's status content is HTML: paragraphs and breaks become new lines, tags go."""
    if not isinstance(value, str):
        return ""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", value))).strip()
