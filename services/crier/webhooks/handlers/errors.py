"""The RPC failures the webhook API answers with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from crier.kit.errors import Failure, Invalid, NotFound
from crier.kit.pages import BadCursor
from crier.webhooks.domain.endpoint import Problem

T = TypeVar("T")
MAX_LIMIT = 100


def not_found(what: str) -> Failure:
    return NotFound("not_found", f"no such {what}")


def invalid(problems: Sequence[Problem]) -> Failure:
    message = f"{problems[0].field} {problems[0].message}" if len(problems) == 1 else "the request is invalid"
    return Invalid("validation_error", message, {"fields": [p.as_detail() for p in problems]})


def url_not_allowed(reason: str, message: str) -> Failure:
    return Invalid("url_not_allowed", message, {"field": "url", "reason": reason})


def collect(problems: list[Problem], check: Callable[[], T]) -> T | None:
    """Run one field's check, noting its problem instead of stopping at the first."""
    try:
        return check()
    except Problem as p:
        problems.append(p)
        return None


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid([Problem("limit", "out_of_range", f"must be between 1 and {MAX_LIMIT}")])


def cursor_position(cursor: str | None) -> int | None:
    """Cursors are the row's sequence number; anything else was not issued by us."""
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise BadCursor()
    return int(cursor)
