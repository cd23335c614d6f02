"""Keyset pagination: newest first by (created_at, id), behind an opaque cursor.

A page is read with `limit + 1` rows; the extra row only says that another page exists. The cursor
names the last row shown, so rows inserted meanwhile never shift a page the way OFFSET would.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec
import sqlalchemy as sa

from crier.kit.errors import Invalid

DEFAULT_LIMIT, MAX_LIMIT = 25, 100
Row = TypeVar("Row")


class BadCursor(Invalid):
    def __init__(self) -> None:
        super().__init__("invalid_cursor", "the cursor is not one this API issued")


class _Position(msgspec.Struct, frozen=True):
    c: datetime
    i: str


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    next_cursor: str | None


def checked_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid.one("limit", "out_of_range", f"must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(created_at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(_Position(created_at, row_id))).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw, type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursor() from None
    if position.c.tzinfo is None:
        raise BadCursor()
    return position.c, position.i


def after_cursor(table: sa.Table, cursor: str | None) -> list[Any]:
    """The WHERE terms that start a page after `cursor` (none for the first page)."""
    if cursor is None:
        return []
    created_at, row_id = decode_cursor(cursor)
    position = sa.tuple_(sa.literal(created_at, sa.DateTime(timezone=True)), sa.literal(row_id, sa.Text))
    return [sa.tuple_(table.c.created_at, table.c.id) < position]


def newest_first(table: sa.Table) -> list[Any]:
    return [table.c.created_at.desc(), table.c.id.desc()]


def page_of(rows: list[Row], limit: int) -> Page[Row]:
    """`rows` holds up to limit + 1 rows: the extra one only says another page exists."""
    if len(rows) <= limit:
        return Page(rows, None)
    last: Any = rows[limit - 1]
    return Page(rows[:limit], encode_cursor(last.created_at, last.id))
