"""Keyset pagination: newest first, ordered by (created_at, id), with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa


class BadCursor(ValueError):
    pass


class _Position(msgspec.Struct, frozen=True):
    c: datetime
    i: str


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(_Position(created_at, row_id))).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw, type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursor(cursor) from None
    if position.c.tzinfo is None:
        raise BadCursor(cursor)
    return position.c, position.i


def after_cursor(table: sa.Table, cursor: str | None) -> list[Any]:
    if cursor is None:
        return []
    created_at, row_id = decode_cursor(cursor)
    position = sa.tuple_(sa.literal(created_at, sa.DateTime(timezone=True)), sa.literal(row_id, sa.Text))
    return [sa.tuple_(table.c.created_at, table.c.id) < position]


def newest_first(table: sa.Table) -> list[Any]:
    return [table.c.created_at.desc(), table.c.id.desc()]


def page_of(rows: list[Any], limit: int) -> Page:
    """`rows` holds up to limit + 1 rows: the extra one only says another page exists."""
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], encode_cursor(last.created_at, last.id))
