"""A new post written in one statement: its first event, its `posts` row and every `post_targets`
row (from arrays, by unnest), where an append and two upserts took three round trips; and those
rows as a read right after would give them, so the create answers without reading them back.

JSON goes as text cast to jsonb and each target column as one array, so the statement's text is
the same whatever the number of targets and is prepared once per connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crier.gateway.adapters.tables import post_targets, posts

# post_targets' columns other than post_id, and the array type each travels as.
_TARGET_ARRAYS = {
    c.name: f"{c.type.compile(dialect=postgresql.dialect())}[]"  # type: ignore[no-untyped-call]
    for c in post_targets.c
    if c.name not in ("post_id", "notes")
}
_JSON = ("containers", "config")


def statement() -> sa.TextClause:
    post_cols = [c.name for c in posts.c]
    post_values = [f"CAST(:p_{n} AS jsonb)" if n in _JSON else f":p_{n}" for n in post_cols]
    arrays = ", ".join(f"CAST(:t_{n} AS {kind})" for n, kind in _TARGET_ARRAYS.items())
    target_cols = list(_TARGET_ARRAYS)
    return sa.text(
        "WITH event AS ("
        " INSERT INTO post_events (post_id, version, type, data, occurred_at)"
        " VALUES (:p_id, 1, :e_type, CAST(:e_data AS jsonb), :e_at)"
        "), post AS ("
        f" INSERT INTO posts ({', '.join(post_cols)}) VALUES ({', '.join(post_values)})"
        ")"
        f" INSERT INTO post_targets (post_id, notes, {', '.join(target_cols)})"
        f" SELECT :p_id, '{{}}'::text[], {', '.join(f't.{n}' for n in target_cols)}"
        f" FROM unnest({arrays}) AS t({', '.join(target_cols)})"
    )


def params(
    kind: str, data: dict[str, Any], at: datetime, post: dict[str, Any], targets: list[dict[str, Any]]
) -> dict[str, Any]:
    if any(t["notes"] for t in targets):
        raise ValueError("a new target has no notes")
    out: dict[str, Any] = {"e_type": kind, "e_data": _json(data), "e_at": at}
    out.update({f"p_{n}": _json(v) if n in _JSON else v for n, v in post.items()})
    out.update({f"t_{n}": [t[n] for t in targets] for n in _TARGET_ARRAYS})
    return out


def as_read(row: dict[str, Any]) -> SimpleNamespace:
    """`row` as the database hands it back: instants in UTC, JSON as plain values."""
    return SimpleNamespace(
        **{
            k: v.astimezone(UTC) if isinstance(v, datetime) else msgspec.to_builtins(v) if k in _JSON else v
            for k, v in row.items()
        }
    )


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
