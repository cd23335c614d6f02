"""Keyset pagination, newest first by (created_at, id), behind an opaque cursor."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa


class BadCursor(ValueError):
    pass


class _Position(msgspec.Struct, frozen=True):
    c: datetime
    i: str


def encode(created_at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(_Position(created_at, row_id))).decode().rstrip("=")


def after(table: sa.Table, cursor: str | None) -> list[Any]:
    """The WHERE terms that start a page after `cursor`."""
    if cursor is None:
        return []
    try:
        position = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursor(cursor) from None
    if position.c.tzinfo is None:
        raise BadCursor(cursor)
    bound = sa.tuple_(sa.literal(position.c, sa.DateTime(timezone=True)), sa.literal(position.i, sa.Text))
    return [sa.tuple_(table.c.created_at, table.c.id) < bound]


def newest_first(table: sa.Table) -> list[Any]:
    return [table.c.created_at.desc(), table.c.id.desc()]


def split(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """`rows` holds up to limit + 1 rows; the extra one only says another page exists."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode(last.created_at, last.id)
