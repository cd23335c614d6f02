"""The failures connect answers with, as kit failures the RPC layer carries to the gateway."""

from __future__ import annotations

from typing import Any

from crier.kit.errors import Conflict, Failure, Forbidden, Invalid, NotFound, Unavailable
from crier.kit.pages import BadCursor

_KINDS: dict[int, type[Failure]] = {403: Forbidden, 404: NotFound, 409: Conflict, 422: Invalid, 503: Unavailable}


def fail(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Failure:
    return _KINDS[status](code, message, details)


def not_found(what: str, ident: str) -> Failure:
    return NotFound.of(what, ident)


def invalid(field: str, code: str, message: str) -> Failure:
    return Invalid.one(field, code, message)


def bad_cursor() -> Failure:
    return BadCursor()
