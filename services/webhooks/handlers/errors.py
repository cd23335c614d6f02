"""The RPC failures the webhook API answers with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from crier.contracts.rpc import RpcError
from crier.kit.bus.rpc import RpcFailure
from crier.webhooks.domain.endpoint import Problem

T = TypeVar("T")
MAX_LIMIT = 100


def not_found(what: str) -> RpcFailure:
    return RpcFailure(RpcError(code="not_found", message=f"no such {what}", status=404))


def invalid(problems: Sequence[Problem]) -> RpcFailure:
    message = f"{problems[0].field} {problems[0].message}" if len(problems) == 1 else "the request is invalid"
    return RpcFailure(
        RpcError(
            code="validation_error", message=message, status=422, details={"fields": [p.as_detail() for p in problems]}
        )
    )


def url_not_allowed(reason: str, message: str) -> RpcFailure:
    return RpcFailure(
        RpcError(code="url_not_allowed", message=message, status=422, details={"field": "url", "reason": reason})
    )


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
        raise RpcFailure(RpcError(code="invalid_cursor", message="the cursor is not one this API issued", status=422))
    return int(cursor)
