"""A change to a post written in one statement: its new events, its `posts` row, the
`post_targets` rows it changed and the outbox messages announcing it (from JSON documents and arrays),
where an append, two upserts and the outbox's insert took four round trips; and the rows of a new
post as a read right after would give them, so a create answers without reading them back.

JSON goes as text cast to jsonb, the events and the targets each as one JSON document (an array of
rows, read by `json_to_recordset`) and each column of the messages as one array (`kit.bus.outbox`),
so the statement's text is the same whatever their numbers, and is prepared once per connection.
The events and the targets went as one array per column too (4 and 17 of them): asyncpg checks
every element of an array parameter, and the array itself, against three abstract base classes
before encoding it, about half a microsecond each, where msgspec encodes the whole document in a
few (a create's four one-element event arrays: ~8 us of the gateway's CPU); and a target's notes
(Postgres has no arrays of arrays of varying length) needed a JSON document per target anyway.

The statement raises what its parts would: a taken `post_events_pkey` (another writer appended
first), `posts_external_ref_key` (another live post holds the reference) or `inbox_pkey` (another
handler claimed a message the change answers).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec
from sqlalchemy.dialects import postgresql

from crier.gateway.adapters import idempotency
from crier.gateway.adapters.accounts import ACTIVE
from crier.gateway.adapters.tables import post_targets, posts
from crier.kit.bus import outbox
from crier.kit.bus.outbox import OutboxMessage
from crier.kit.direct_sql import DirectStatement

# post_targets' columns other than post_id, and the type each is read as from the targets' document.
_TARGET_COLUMNS = {
    c.name: c.type.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    for c in post_targets.c
    if c.name != "post_id"
}
_JSON = ("containers", "config")


class NewEvent(msgspec.Struct, frozen=True):
    version: int
    type: str
    data: dict[str, Any]
    at: datetime


def _statement(
    *, creating: bool = False, claiming: bool = False, expecting: bool = False, knowing: bool = False
) -> str:
    """`creating`: the post is new, so its rows are inserted, not upserted, and it answers no
    message: an upsert checks each row's key before inserting it (a speculative insertion), work
    for nothing when the id is new, and an id that is not new fails the statement anyway on
    `post_events_pkey`. `claiming`: the statement first claims an Idempotency-Key as done with the
    new post (see `idempotency.claiming_done`) and writes only if it won the key. `expecting`: it
    writes only if the post's last stored event is the one given (`:x_version`, `:x_data`), as a
    read would have checked before a change decided from a state kept in memory (`post_store`).
    `knowing`: a new post checked against its accounts as this process knew them, with no read
    first (`handlers.known_accounts`): it writes, and claims its key, only if those accounts are
    still usable and unchanged (`:a_rows`, the rows as a read gives them) and no live post holds
    its external_ref, and says which of the two failed (`fresh`, `ref_free`)."""
    post_cols = [c.name for c in posts.c]
    # Typed: in a SELECT (which the gate needs) a parameter takes no type from its column.
    post_values = [
        f"CAST(:p_{c.name} AS {'jsonb' if c.name in _JSON else c.type.compile(dialect=postgresql.dialect())})"  # type: ignore[no-untyped-call]
        for c in posts.c
    ]
    post_updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in post_cols if n != "id")
    target_cols = list(_TARGET_COLUMNS)
    target_record = ", ".join(f"{n} {kind}" for n, kind in _TARGET_COLUMNS.items())
    target_updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in target_cols if n != "id")
    checks, answer = "", "open AS written"
    if knowing:
        # Compared as jsonb: the rows' own JSON, whatever the order of their keys.
        checks = (
            "known AS (SELECT (SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.id), '[]'::jsonb) FROM accounts a"
            " WHERE a.id = ANY(CAST(:a_ids AS text[])) AND a.org_id = :p_org_id AND a.mode = :p_mode"
            f" AND a.status = '{ACTIVE}') = CAST(:a_rows AS jsonb) AS fresh,"
            " NOT EXISTS (SELECT 1 FROM posts WHERE org_id = :p_org_id AND mode = :p_mode"
            " AND external_ref = :p_external_ref AND canceled_at IS NULL) AS ref_free), "
        )
        answer += ", (SELECT fresh FROM known) AS fresh, (SELECT ref_free FROM known) AS ref_free"
    checked = "(SELECT fresh AND ref_free FROM known)" if knowing else "true"
    if claiming:
        gate = (
            f"{checks}claim AS ({idempotency.claiming_done(when=checked)}),"
            f" gate AS (SELECT {checked} AND EXISTS (SELECT 1 FROM claim) AS open)"
        )
    elif knowing:
        gate = f"{checks}gate AS (SELECT {checked} AS open)"
    elif expecting:
        gate = (
            "gate AS (SELECT EXISTS (SELECT 1 FROM post_events WHERE post_id = :p_id"
            " AND version = CAST(:x_version AS integer) AND data = CAST(:x_data AS jsonb))"
            " AND NOT EXISTS (SELECT 1 FROM post_events WHERE post_id = :p_id"
            " AND version > CAST(:x_version AS integer)) AS open)"
        )
    else:
        gate = "gate AS (SELECT true AS open)"
    # Every write below happens only if the gate is open.
    open_ = "(SELECT open FROM gate)"
    post_conflict = "" if creating else f" ON CONFLICT (id) DO UPDATE SET {post_updates}"
    target_conflict = "" if creating else f" ON CONFLICT (id) DO UPDATE SET {target_updates}"
    # The messages the change answers, claimed in the inbox (none: nothing inserted). No ON
    # CONFLICT: a message another handler claimed first fails the whole statement.
    claimed = (
        ""
        if creating
        else "), claimed AS (INSERT INTO inbox (consumer, event_id)"
        f" SELECT :i_consumer, i.id FROM unnest(CAST(:i_ids AS text[])) AS i(id) WHERE {open_}"
    )
    return (
        f"WITH {gate}, event AS ("
        " INSERT INTO post_events (post_id, version, type, data, occurred_at)"
        " SELECT :p_id, e.version, e.type, e.data, e.at"
        " FROM json_to_recordset(CAST(:e_rows AS json)) AS e(version integer, type text, data jsonb, at timestamptz)"
        f" WHERE {open_}"
        "), post AS ("
        f" INSERT INTO posts ({', '.join(post_cols)}) SELECT {', '.join(post_values)} WHERE {open_}"
        f"{post_conflict}"
        f"), announced AS ({outbox.insert_arrays(when=open_)}"
        f"{claimed}"
        "), targets AS ("
        f" INSERT INTO post_targets (post_id, {', '.join(target_cols)})"
        f" SELECT :p_id, {', '.join(f't.{n}' for n in target_cols)}"
        f" FROM json_to_recordset(CAST(:t_rows AS json)) AS t({target_record}) WHERE {open_}"
        f"{target_conflict}"
        f") SELECT {answer} FROM gate"
    )


# Every change to a post runs one of them: on the driver directly (see `kit.direct_sql`).
STATEMENT = DirectStatement(_statement())
# A new post (`post_store.create`), and one created with its Idempotency-Key claimed in the same
# statement.
CREATE = DirectStatement(_statement(creating=True))
CREATE_CLAIMING = DirectStatement(_statement(creating=True, claiming=True))
# The same, checked against the accounts as this process knew them rather than after a read.
CREATE_KNOWING = DirectStatement(_statement(creating=True, knowing=True))
CREATE_KNOWING_CLAIMING = DirectStatement(_statement(creating=True, claiming=True, knowing=True))
# A change decided from the post as kept in memory, written only if no event was stored since.
EXPECTING = DirectStatement(_statement(expecting=True))


def params(
    events: Sequence[NewEvent],
    post: dict[str, Any],
    targets: Sequence[dict[str, Any]],
    messages: Sequence[OutboxMessage] = (),
    claims: tuple[str, Sequence[str]] = ("", ()),
) -> dict[str, Any]:
    """The statement's parameters: `post` and `targets` as `posts` and `post_targets` rows, the
    messages announcing the change, queued in the outbox, and the ids of the messages it answers,
    claimed in the inbox for a consumer: (consumer, ids)."""
    out: dict[str, Any] = {
        **outbox.array_params(messages),
        "i_consumer": claims[0],
        "i_ids": list(claims[1]),
        "e_rows": json_text(events),
    }
    out.update({f"p_{n}": json_text(v) if n in _JSON else v for n, v in post.items()})
    out["t_rows"] = json_text(targets)
    return out


def as_read(row: dict[str, Any]) -> SimpleNamespace:
    """`row` as the database hands it back: instants in UTC, JSON as plain values."""
    return SimpleNamespace(
        **{
            k: v.astimezone(UTC) if isinstance(v, datetime) else msgspec.to_builtins(v) if k in _JSON else v
            for k, v in row.items()
        }
    )


def json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()
